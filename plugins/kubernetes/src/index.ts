/**
 * @orch/plugin-kubernetes — the Kubernetes orchestrator. A run is one orchestrator Job whose pod runs
 * `orch-entrypoint orchestrate`: core's scheduler inside the cluster, launching one Job per step as the
 * DAG allows and following them with the Watch API. Schedules become CronJobs.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { kubernetes } from "@orch/plugin-kubernetes";
 * const stack = defineStack({
 *   name: "k8s",
 *   orchestrator: kubernetes({ kubernetesNamespace: "ml", image: "registry.example.com/training:1.0", artifactStoreVolume: { claimName: "orch-artifacts", mountPath: "/orch" } }),
 *   artifactStore: { flavor: "local", config: { path: "/mnt/orch" } },
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, podSettingsSchema, settingsSchema } from "./config.js";
export type { KubernetesOrchestratorConfig, KubernetesOrchestratorConfigInput, KubernetesStepSettings, PodSettings } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // The orchestrator pod runs the pipeline function (orch-entrypoint orchestrate) and launches a Job
    // for each step it calls.
    dynamic: true,
    // CronJobs speak 5-field cron with a timeZone. Intervals become cron when a CronJob can express them
    // (minutes dividing an hour, hours dividing a day, one day); others and one-off runs are refused, with the reason.
    schedules: { cron: true, interval: true, once: false, manage: true },
    retries: "native",
    resources: "exact",
    stop: true,
    logs: true,
    parallel: true,
    // A remote store (s3, gcs, azure) needs no volume: its credentials reach every pod from the run's
    // Secret. A local store works when a ReadWriteMany volume is mounted in every pod (artifactStoreVolume).
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `kubernetes({ kubernetesNamespace: "ml", image: "…" })`. */
export const kubernetes = componentFactory(plugin);
