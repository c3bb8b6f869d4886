/**
 * The @orch/testkit conformance suite, run against this plugin, the loopback AWS and s3rver: every
 * standard pipeline is compiled to a definition, created in SageMaker and executed there, one
 * processing job (a local process) per step, against the s3 artifact store.
 */
import { basename } from "node:path";
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
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
  // Each run's journal under its own prefix of the test bucket.
  artifactStore: (dir) => ({ flavor: "s3", config: { ...harness.storeConfig, path: `s3://${harness.bucket}/conformance/${basename(dir)}` } }) as never,
  // The fake runs each processing job as a local process, with no instance limits to observe; the
  // instance type chosen from the resources is checked in definition.test.ts and instance-types.test.ts.
  skip: { resources: "processing jobs run as local processes in the loopback SageMaker (the instance type choice is checked in definition.test.ts)" },
  timeout: 120_000,
});
