/**
 * A test "Azure": the loopback ARM server (test/arm-server.ts) executing pipeline jobs as local
 * processes, the azure artifact store on the shared Azurite, and the workspace's log storage (a
 * container `azureml` on the same Azurite, where each child job's user_logs/std_log.txt lands).
 */
import { fileURLToPath } from "node:url";
import type { TokenCredential } from "@azure/core-auth";
import { defineStack, type StackDefinition } from "@orch/core";
import { createArtifactStore, parseComponentConfig, type ArtifactStore, type Orchestrator } from "@orch/core/plugin";
import { azure } from "@orch/plugin-azure";
import { clients } from "../../azure/test/azurite-server.js";
import plugin, { azureml, type AzureMLOrchestratorConfigInput } from "../src/index.js";
import { createOrchestrator } from "../src/runtime.js";
import { IDENTITY_HEADER, TEST_TOKEN, startArmServer, type ArmServer, type ArmServerOptions } from "./arm-server.js";
import { provided } from "./provided.js";
import { jobBodyProblems } from "./spec-validator.js";

const coreBin = fileURLToPath(new URL("../../../packages/core/src/entrypoint/bin.ts", import.meta.url));
/** How the test "image" runs orch-entrypoint: there is no image, so the server runs the command here, from TypeScript source. */
export const ENTRYPOINT = [process.execPath, "--conditions=@orch/source", "--import", "tsx", coreBin];
export const LOG_CONTAINER = "azureml";
const runBin = fileURLToPath(new URL("../src/bin/run.ts", import.meta.url));
/** How the test "image" runs this plugin's orch-azureml-run (the setup and finalize nodes of a schedule's jobs), from source. */
export const RUN_COMMAND = [process.execPath, "--conditions=@orch/source", "--import", "tsx", runBin];

/** The test TokenCredential: the token the loopback server accepts. */
export const testCredential: TokenCredential = { getToken: async () => ({ token: TEST_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };

/** Why these tests cannot run here (no openssl for the server's certificate), or undefined. */
export function missing(): string | undefined {
  const certificate = provided.certificate();
  return "missing" in certificate ? certificate.missing : undefined;
}

export interface Harness {
  server: ArmServer;
  azurite: ReturnType<typeof clients>;
  container: string;
  config: AzureMLOrchestratorConfigInput;
  stack: StackDefinition;
  /** Environment of a process using DefaultAzureCredential against the server (managed identity, App Service style). */
  identityEnv: Record<string, string>;
  /** The runtime with the test credential (the SDK's bearer policy gets the test token), on the harness's azure store. */
  runtime(extra?: Partial<AzureMLOrchestratorConfigInput>): Promise<{ runtime: Orchestrator; store: ArtifactStore }>;
  close(): Promise<void>;
}

export async function createHarness(options: { projectRoot: string; server?: Partial<ArmServerOptions>; config?: Partial<AzureMLOrchestratorConfigInput> }): Promise<Harness> {
  const certificate = provided.certificate();
  if ("missing" in certificate) throw new Error(certificate.missing);
  const { endpoint, port, connectionString } = provided.azurite();
  const azurite = clients(endpoint, port, connectionString);
  const container = await azurite.container("aml");
  const logs = azurite.service.getContainerClient(LOG_CONTAINER);
  await logs.createIfNotExists();
  const server = await startArmServer({
    certificate,
    async onLog(job, text) {
      // Where Azure ML keeps a job's output: ExperimentRun/dcid.<job>/user_logs/std_log.txt in the workspace storage.
      await logs.getBlockBlobClient(`ExperimentRun/dcid.${job.name}/user_logs/std_log.txt`).upload(text, Buffer.byteLength(text));
    },
    // Every submitted job body is checked against the ARM OpenAPI definitions (a 400 otherwise).
    validateJob: jobBodyProblems,
    ...options.server,
  });
  const config: AzureMLOrchestratorConfigInput = {
    subscriptionId: "00000000-1111-2222-3333-444444444444",
    resourceGroup: "orch-test-rg",
    workspace: "orch-test-ws",
    computeTarget: "cpu-cluster",
    image: "orch-node-base:local",
    projectRoot: options.projectRoot,
    entrypointCommand: ENTRYPOINT,
    runCommand: RUN_COMMAND,
    endpoint: server.url,
    pollSeconds: 0.2,
    ...options.config,
  };
  const store = { path: `az://${container}/orch`, connectionString };
  const identityEnv = { IDENTITY_ENDPOINT: `${server.url}/msi/token`, IDENTITY_HEADER };
  const runtimes: Orchestrator[] = [];
  return {
    server,
    azurite,
    container,
    config,
    identityEnv,
    stack: defineStack({ name: "aml", orchestrator: azureml(config), artifactStore: azure(store) }),
    async runtime(extra = {}) {
      const { store: artifactStore } = await createArtifactStore(azure(store), String(options.projectRoot));
      const runtime = createOrchestrator(parseComponentConfig(plugin, { ...config, ...extra }), { projectRoot: options.projectRoot, stackName: "aml", artifactStore }, { credential: testCredential });
      runtimes.push(runtime);
      return { runtime, store: artifactStore };
    },
    async close() {
      for (const runtime of runtimes) await runtime.dispose?.();
      await server.close();
    },
  };
}

