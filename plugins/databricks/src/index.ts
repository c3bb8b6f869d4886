/**
 * @orch/plugin-databricks — the Databricks orchestrator. A pipeline becomes a multi-task job (Jobs API
 * 2.2): one task per step with `depends_on` from the DAG, each running `orch-entrypoint step` in the
 * stack's image on a job cluster (Databricks Container Services); schedules are the job's Quartz cron.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { databricks } from "@orch/plugin-databricks";
 * const stack = defineStack({
 *   name: "dbx",
 *   orchestrator: databricks({ host: "https://dbc-1234.cloud.databricks.com", clientId: "…", clientSecret: "${DATABRICKS_CLIENT_SECRET}", image: "registry.example.com/training:1.0" }),
 *   artifactStore: { flavor: "s3", config: { path: "s3://bucket/orch" } },
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, settingsSchema } from "./config.js";
export type { DatabricksOrchestratorConfig, DatabricksOrchestratorConfigInput, DatabricksStepSettings } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // A job's tasks are fixed when it is created.
    dynamic: false,
    // Quartz cron with a Java timezone; intervals when cron repeats them evenly; no one-off runs.
    schedules: { cron: true, interval: true, once: false, manage: true },
    retries: "native",
    resources: "mapped",
    stop: true,
    logs: true,
    parallel: true,
    // Job clusters reach a bucket, never this machine's folder; the image is prebuilt (config key image).
    requires: { remoteArtifactStore: true, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `databricks({ host: "…", image: "…" })`. */
export const databricks = componentFactory(plugin);
