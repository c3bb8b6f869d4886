/**
 * The @orch/testkit conformance suite against this plugin: every standard pipeline is submitted as an
 * Azure ML pipeline job to the loopback ARM server (which runs its command nodes as local processes),
 * with the azure artifact store on Azurite and DefaultAzureCredential through a managed identity.
 */
import { basename } from "node:path";
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import { azure } from "@orch/plugin-azure";
import plugin from "./index.js";
import { createHarness, missing } from "../test/harness.js";

const packageRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const skip = missing();
if (skip) throw new Error(`[orch] azureml conformance cannot run: ${skip}`);
const harness = await createHarness({ projectRoot: packageRoot });
Object.assign(process.env, harness.identityEnv);
afterAll(() => harness.close());

testOrchestratorPlugin({
  plugin,
  config: harness.config,
  packageRoot,
  projectRoot: packageRoot,
  artifactStore: (dir) => azure({ path: `az://${harness.container}/${basename(dir)}`, connectionString: harness.azurite.connectionString }),
});
