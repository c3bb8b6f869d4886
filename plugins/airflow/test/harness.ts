import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineStack, type StackDefinition } from "@orch/core";
import { createLocalArtifactStore, parseComponentConfig, type ArtifactStore, type Orchestrator } from "@orch/core/plugin";
import plugin, { airflow, type AirflowOrchestratorConfigInput } from "../src/index.js";
import { createOrchestrator } from "../src/runtime.js";
import { startFakeAirflow, type FakeAirflow, type FakeAirflowOptions } from "./fake-airflow.js";

export const quickstartRoot = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url)).replace(/\/$/, "");
export const coreBin = fileURLToPath(new URL("../../../packages/core/src/entrypoint/bin.ts", import.meta.url));
/** How the test "image" runs orch-entrypoint: there is no image, so the fake Airflow runs the container command on this machine, from TypeScript source. */
export const scheduledStepBin = fileURLToPath(new URL("../src/bin/scheduled-step.ts", import.meta.url));
export const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];

export interface Harness {
  server: FakeAirflow;
  dir: string;
  dagsFolder: string;
  storePath: string;
  store: ArtifactStore;
  config: AirflowOrchestratorConfigInput;
  stack: StackDefinition;
  runtime(extra?: Partial<AirflowOrchestratorConfigInput>): Orchestrator;
  close(): Promise<void>;
}

/** A fake Airflow reading a temporary DAGs folder, a local artifact store, and a config pointing at both. */
export async function createHarness(options: FakeAirflowOptions & { config?: Partial<AirflowOrchestratorConfigInput>; projectRoot?: string } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "orch-airflow-"));
  const dagsFolder = join(dir, "dags");
  const storePath = join(dir, "artifacts");
  const version = options.version ?? 3;
  const server = await startFakeAirflow({ dagsFolder, ...options, version });
  const operator = options.config?.operator ?? "kubernetes";
  const config: AirflowOrchestratorConfigInput = {
    host: server.url,
    airflowVersion: version,
    username: "admin",
    password: "admin",
    dagsFolder,
    operator,
    image: "orch-quickstart:test",
    projectRoot: options.projectRoot ?? quickstartRoot,
    entrypointCommand: [...node, coreBin],
    scheduledStepCommand: [...node, scheduledStepBin],
    // The local store reaches step pods through a volume mounted at the same path.
    ...(operator === "kubernetes" ? { artifactStoreVolume: { claimName: "orch-artifacts", mountPath: storePath } } : {}),
    parseTimeoutSeconds: 30,
    pollSeconds: 0.2,
    ...options.config,
  };
  const store = createLocalArtifactStore(storePath);
  const runtimes: Orchestrator[] = [];
  return {
    server,
    dir,
    dagsFolder,
    storePath,
    store,
    config,
    stack: defineStack({ name: "airflow", orchestrator: airflow(config), artifactStore: { flavor: "local", config: { path: storePath } } }),
    runtime(extra = {}) {
      const runtime = createOrchestrator(parseComponentConfig(plugin, { ...config, ...extra }), { projectRoot: options.projectRoot ?? quickstartRoot, stackName: "airflow", artifactStore: store });
      runtimes.push(runtime);
      return runtime;
    },
    async close() {
      for (const runtime of runtimes) await runtime.dispose?.();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 45_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
