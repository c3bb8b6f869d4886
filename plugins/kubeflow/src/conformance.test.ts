/**
 * The @orch/testkit conformance suite against this plugin and the loopback KFP API server: every standard
 * pipeline is compiled to IR, uploaded, and executed by the server from the IR (one process per task),
 * with s3 (s3rver) as the remote artifact store the flavor requires.
 */
import { basename } from "node:path";
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import plugin from "./index.js";
import { createHarness, packageRoot } from "../test/harness.js";

const harness = await createHarness();
afterAll(() => harness.close());

testOrchestratorPlugin({
  plugin,
  config: harness.config,
  packageRoot,
  projectRoot: packageRoot,
  // The entry imports @orch/kfp/settings (a zod schema); the compiler and its YAML writer load with the runtime.
  sdkModules: ["yaml", "protobufjs", "@kubernetes/client-node"],
  artifactStore: (dir) => harness.storeSpec(`conformance/${basename(dir)}`),
  // The loopback server runs each task as a local process, which has no cgroup limits to observe; the
  // IR's resources are checked in @orch/kfp's compile tests (the settings matrix).
  skip: { resources: "tasks run as local processes of the loopback KFP server (the IR's resources are checked in @orch/kfp's settings-matrix test)" },
});
