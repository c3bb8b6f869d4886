/**
 * A kubeflow test environment on 127.0.0.1: the loopback KFP API server (which runs each task of the IR
 * it was given as a local process, or in Docker), s3rver as the remote artifact store, and the plugin's
 * config pointing at both. There is no image: the "image" is this machine, running orch's bins from
 * TypeScript source, the same bins a real image runs.
 */
import { fileURLToPath } from "node:url";
import { defineStack, type StackDefinition } from "@orch/core";
import { createArtifactStore, type ArtifactStore } from "@orch/core/plugin";
import { s3 } from "@orch/plugin-s3";
import { kubeflow, type KubeflowOrchestratorConfigInput } from "../src/index.js";
import { startKfpServer, type KfpServer, type KfpServerOptions } from "./kfp-server.js";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";

export const packageRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const coreBin = fileURLToPath(new URL("../../../packages/core/src/entrypoint/bin.ts", import.meta.url));
const runBin = fileURLToPath(new URL("../src/bin/run.ts", import.meta.url));
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];
export const BUCKET = "orch-kfp";

export interface Harness {
  kfp: KfpServer;
  s3: S3rverHandle;
  config: KubeflowOrchestratorConfigInput;
  /** The s3 store spec of `prefix` (a folder of the bucket). */
  storeSpec(prefix: string): ReturnType<typeof s3>;
  stack(prefix: string, extra?: Partial<KubeflowOrchestratorConfigInput>): StackDefinition;
  openStore(prefix: string): Promise<ArtifactStore>;
  close(): Promise<void>;
}

export async function createHarness(options: { projectRoot?: string; kfp?: KfpServerOptions; config?: Partial<KubeflowOrchestratorConfigInput> } = {}): Promise<Harness> {
  const projectRoot = options.projectRoot ?? packageRoot;
  const s3rver = await startS3rver([BUCKET]);
  const kfp = await startKfpServer({
    ...options.kfp,
    executor: { cwd: projectRoot, terminationGraceSeconds: 2, baseEnv: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" }, ...options.kfp?.executor },
  });
  const config: KubeflowOrchestratorConfigInput = {
    host: kfp.url,
    image: "orch-project:test",
    projectRoot,
    entrypointCommand: [...node, coreBin],
    runCommand: [...node, runBin],
    pollIntervalSeconds: 0.2,
    ...options.config,
  };
  const storeSpec = (prefix: string) => s3({ path: `s3://${BUCKET}/${prefix}`, endpoint: s3rver.endpoint, forcePathStyle: true, ...s3rver.credentials });
  const stores: ArtifactStore[] = [];
  return {
    kfp,
    s3: s3rver,
    config,
    storeSpec,
    stack: (prefix, extra = {}) => defineStack({ name: "kfp", orchestrator: kubeflow({ ...config, ...extra }), artifactStore: storeSpec(prefix) }),
    async openStore(prefix) {
      const { store } = await createArtifactStore(storeSpec(prefix), projectRoot);
      stores.push(store);
      return store;
    },
    async close() {
      await kfp.close();
      for (const store of stores) await (store as { dispose?: () => Promise<void> }).dispose?.();
      await s3rver.stop();
    },
  };
}
