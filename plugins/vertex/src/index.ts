/**
 * @orch/plugin-vertex — the Vertex AI Pipelines orchestrator. A run is the pipeline compiled to the
 * KFP v2 intermediate representation (@orch/kfp), submitted as a PipelineJob; each task runs
 * `orch-entrypoint step` in the stack's image against the gcs artifact store. Schedules are Vertex
 * AI schedules.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { vertex } from "@orch/plugin-vertex";
 * import { gcs } from "@orch/plugin-gcs";
 * const stack = defineStack({
 *   name: "vertex",
 *   orchestrator: vertex({ project: "my-project", location: "us-central1", image: "us-docker.pkg.dev/my-project/ml/training:1.0" }),
 *   artifactStore: gcs({ path: "gs://my-bucket/orch" }),
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, settingsSchema } from "./config.js";
export type { VertexOrchestratorConfig, VertexOrchestratorConfigInput, VertexStepSettings } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // The IR is a fixed DAG compiled before submission: a pipeline that decides its steps at run time
    // has nothing to compile.
    dynamic: false,
    // Vertex schedules speak 5-field cron with a TZ= prefix; intervals become cron where cron repeats
    // them evenly; a one-off run is a cron on that minute with maxRunCount 1.
    schedules: { cron: true, interval: true, once: true, manage: true },
    // The IR's retryPolicy: Vertex re-runs the task.
    retries: "native",
    // CPU and memory limits in the IR (Vertex picks the machine), GPUs as a Vertex accelerator type.
    resources: "mapped",
    stop: true,
    logs: true,
    parallel: true,
    // Tasks run on Google's machines: they reach the journal and artifacts only through a bucket.
    requires: { remoteArtifactStore: true, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `vertex({ project: "my-project", image: "…" })`. */
export const vertex = componentFactory(plugin);
