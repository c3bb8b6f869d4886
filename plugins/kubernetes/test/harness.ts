import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineStack, type StackDefinition } from "@orch/core";
import { createLocalArtifactStore, parseComponentConfig, type ArtifactStore } from "@orch/core/plugin";
import plugin, { kubernetes, type KubernetesOrchestratorConfigInput } from "../src/index.js";
import { createOrchestrator } from "../src/runtime.js";
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from "./fake-apiserver.js";

export const projectRoot = fileURLToPath(new URL("./fixtures/project/", import.meta.url)).replace(/\/$/, "");
const coreBin = fileURLToPath(new URL("../../../packages/core/src/entrypoint/bin.ts", import.meta.url));
const scheduledBin = fileURLToPath(new URL("../src/bin/scheduled-run.ts", import.meta.url));
/**
 * How the test "image" runs orch's bins: there is no image, so the fake kubelet runs the container command
 * on this machine. These are the same bins a real image runs, from TypeScript source.
 */
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];

export interface Harness {
  server: FakeApiServer;
  dir: string;
  storePath: string;
  store: ArtifactStore;
  kubeconfigPath: string;
  config: KubernetesOrchestratorConfigInput;
  stack: StackDefinition;
  runtime(extra?: Partial<KubernetesOrchestratorConfigInput>): ReturnType<typeof createOrchestrator>;
  close(): Promise<void>;
}

/** The nodes of the test cluster: one CPU node (the fixture's evaluate step selects pool=cpu). */
export const DEFAULT_NODES = [{ name: "node-1", labels: { "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", pool: "cpu" } }];

/** Pods get in-cluster credentials over HTTPS when openssl can make the server's certificate. */
const opensslMissing = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "openssl is not installed";
  }
})();
if (opensslMissing) console.warn(`[orch] kubernetes tests: ${opensslMissing}, so pods reach the fake API server through $KUBECONFIG instead of in-cluster credentials`);

export async function createHarness(options: FakeApiServerOptions & { config?: Partial<KubernetesOrchestratorConfigInput> } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "orch-k8s-"));
  // options.podEnv: what the platform gives every pod (e.g. workload identity's credentials).
  const podEnv: Record<string, string> = { ...options.podEnv };
  const server = await startFakeApiServer({
    nodes: structuredClone(DEFAULT_NODES),
    // Real back-off and grace periods, 100× faster (FAKE_KUBE_TIME_SCALE=1 for real time).
    timeScale: Number(process.env.FAKE_KUBE_TIME_SCALE ?? 0.01),
    inCluster: !opensslMissing,
    ...options,
    podEnv,
  });
  const kubeconfigPath = join(dir, "kubeconfig.yaml");
  await writeFile(kubeconfigPath, server.kubeconfig());
  // What the kubelet gives every pod: a service-account token (inCluster), else credentials through $KUBECONFIG.
  if (opensslMissing || options.inCluster === false) podEnv.KUBECONFIG = kubeconfigPath;
  const storePath = join(dir, "artifacts");
  const config: KubernetesOrchestratorConfigInput = {
    kubeconfig: kubeconfigPath,
    kubernetesNamespace: "default",
    image: "orch-quickstart:test",
    projectRoot,
    entrypointCommand: [...node, coreBin],
    scheduledRunCommand: [...node, scheduledBin],
    ...options.config,
  };
  const store = createLocalArtifactStore(storePath);
  const runtimes: { dispose?(): Promise<void> }[] = [];
  return {
    server,
    dir,
    storePath,
    store,
    kubeconfigPath,
    config,
    stack: defineStack({ name: "k8s", orchestrator: kubernetes(config), artifactStore: { flavor: "local", config: { path: storePath } } }),
    runtime(extra = {}) {
      const runtime = createOrchestrator(parseComponentConfig(plugin, { ...config, ...extra }), { projectRoot, stackName: "k8s", artifactStore: store });
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

/** Polls `check` until it returns a truthy value (the fake cluster runs real processes; no fixed sleeps). */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 45_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
