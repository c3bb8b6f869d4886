/**
 * The @orch/testkit conformance suite against this plugin: every standard pipeline is compiled to KFP
 * IR, submitted through the real aiplatform SDK to the loopback Vertex AI server, and executed there
 * task by task against the fake Cloud Storage bucket.
 */
import { basename } from "node:path";
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import { gcs } from "@orch/plugin-gcs";
import plugin from "./index.js";
import { createHarness } from "../test/harness.js";

const packageRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const harness = await createHarness({ projectRoot: packageRoot });
afterAll(() => harness.close());

testOrchestratorPlugin({
  plugin,
  config: harness.config,
  packageRoot,
  projectRoot: packageRoot,
  // One prefix of the fake bucket per store folder the suite asks for (Vertex tasks reach the journal only through Cloud Storage).
  artifactStore: (dir) => gcs({ ...harness.storeConfig, path: `${harness.storeConfig.path}/${basename(dir)}` }),
  // The SDK and the compiler load only in the runtime; zod and core are what the entry may load.
  sdkModules: ["@google-cloud/aiplatform", "google-gax", "@orch/kfp"],
});
