/**
 * The @orch/testkit conformance suite, run against this plugin and the loopback Airflow: every standard
 * pipeline becomes a DAG file the loopback Airflow parses under the Python stand-ins and runs task by
 * task (each task's command as a local process), with the same local artifact store.
 */
import { afterAll } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import plugin from "./index.js";
import { createHarness } from "../test/harness.js";

const packageRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const harness = await createHarness({ version: 3, projectRoot: packageRoot, config: { operator: "docker" } });
afterAll(() => harness.close());

testOrchestratorPlugin({
  plugin,
  config: harness.config,
  packageRoot,
  projectRoot: packageRoot,
  // Tasks run as local processes in the test harness, which have no cgroup limits to observe; the
  // operators' resource arguments are checked in dag-file.test.ts.
  skip: { resources: "tasks run as local processes in the loopback Airflow (resource arguments checked in dag-file.test.ts)" },
});
