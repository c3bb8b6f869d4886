/**
 * The @orch/testkit conformance suite, run against this plugin and the loopback API server: every
 * standard pipeline runs as an orchestrator Job plus one Job per step, executed as local processes.
 */
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import plugin from "./index.js";
import { createHarness } from "../test/harness.js";

const packageRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const harness = await createHarness({ config: { projectRoot: packageRoot } });
afterAll(() => harness.close());

testOrchestratorPlugin({
  plugin,
  config: harness.config,
  packageRoot,
  projectRoot: packageRoot,
  // The harness runs each step Job as a local process, which has no cgroup limits to observe; the Job's
  // requests and limits are checked in manifests.test.ts ("maps resources to exact requests and limits").
  skip: { resources: "step Jobs run as local processes in the test harness (limits checked in manifests.test.ts)" },
});
