/**
 * @orch/dashboard — the local dashboard `orch up` serves: runs, the pipeline DAG drawn live, step
 * panels with logs and artifact previews, pipelines with their versions and schedules, stacks.
 *
 * @example
 * import { openIndex } from "@orch/store-sqlite";
 * import { startDashboard } from "@orch/dashboard";
 * const index = openIndex(".orch/orch.db");
 * const dashboard = await startDashboard({ index, project: { root: ".", home: ".orch" }, port: 0 });
 * console.log(dashboard.urlWithToken);
 *
 * @module
 */
export { startDashboard, isLoopback, DEFAULT_PORT, LOOPBACK, type Dashboard, type DashboardOptions, type DashboardActions, type ActionOutcome } from "./server.js";
export type { DashboardProject } from "./data.js";
