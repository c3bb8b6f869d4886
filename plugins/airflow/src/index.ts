/**
 * @orch/plugin-airflow — the Airflow orchestrator. A pipeline becomes one generated, readable DAG file
 * (a KubernetesPodOperator or DockerOperator task per step, each running `orch-entrypoint step`) placed
 * where the Airflow deployment reads DAGs; a run is a DAG run triggered with the orch run id as its
 * dag_run_id, followed through Airflow's REST API and the run journal.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { airflow } from "@orch/plugin-airflow";
 * const stack = defineStack({
 *   name: "airflow",
 *   orchestrator: airflow({ host: "http://airflow.example.com:8080", username: "admin", password: "$AIRFLOW_PASSWORD", dagsFolder: "s3://my-mwaa/dags", image: "registry.example.com/training:1.0", credentialsSecret: "orch-store" }),
 *   artifactStore: { flavor: "s3", config: { path: "s3://my-bucket/orch" } },
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, settingsSchema } from "./config.js";
export type { AirflowOrchestratorConfig, AirflowOrchestratorConfigInput, AirflowStepSettings } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // The DAG file is fixed before the run starts.
    dynamic: false,
    // The DAG's own schedule: a cron string, a timedelta or "@once". Managed by placing and removing the DAG file.
    schedules: { cron: true, interval: true, once: true, manage: true },
    retries: "native",
    resources: "exact",
    stop: true,
    logs: true,
    parallel: true,
    // Tasks run on Airflow's workers or cluster: a local store is reachable only when mounted (docker: same host; kubernetes: artifactStoreVolume).
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `airflow({ host: "…", dagsFolder: "…", image: "…" })`. */
export const airflow = componentFactory(plugin);
