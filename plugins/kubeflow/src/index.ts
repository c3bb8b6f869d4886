/**
 * @orch/plugin-kubeflow — the Kubeflow Pipelines orchestrator. A run is a KFP v2 pipeline run: the
 * snapshot compiled to KFP IR by @orch/kfp (one container task per step running `orch-entrypoint
 * step`), uploaded as a pipeline version and run through the KFP REST API v2beta1. Schedules are
 * recurring runs.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { kubeflow } from "@orch/plugin-kubeflow";
 * import { s3 } from "@orch/plugin-s3";
 * const stack = defineStack({
 *   name: "kfp",
 *   orchestrator: kubeflow({ host: "https://kubeflow.example.com/pipeline", image: "registry.example.com/training:1.0", token: "${KF_PIPELINES_TOKEN}" }),
 *   artifactStore: s3({ path: "s3://ml-artifacts/orch" }),
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, IN_CLUSTER_HOST, configSchema, settingsSchema } from "./config.js";
export type { KubeflowOrchestratorConfig, KubeflowOrchestratorConfigInput } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // A KFP pipeline is a static graph, compiled before the run.
    dynamic: false,
    // Recurring runs: cron (converted to KFP's seconds-first dialect) and periodic intervals; no one-off runs.
    schedules: { cron: true, interval: true, once: false, manage: true },
    // The IR's retryPolicy: KFP starts a new pod per attempt.
    retries: "native",
    resources: "exact",
    stop: true,
    logs: true,
    parallel: true,
    // Step pods run on the cluster: they reach the artifact store over the network.
    requires: { remoteArtifactStore: true, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `kubeflow({ host: "…", image: "…" })`. */
export const kubeflow = componentFactory(plugin);
