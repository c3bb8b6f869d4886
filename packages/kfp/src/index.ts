/**
 * @orch/kfp — compiles an orch snapshot to the Kubeflow Pipelines v2 IR (PipelineSpec, plus the
 * KFP-on-Kubernetes PlatformSpec). No SDK: the IR is plain JSON written the way the KFP SDK writes it.
 * Used by the kubeflow and vertex flavors. The validator and a test-only IR executor are in
 * `@orch/kfp/testing`.
 *
 * @example
 * import { toPipelineSpec, toKfpYaml } from "@orch/kfp";
 * const ir = toPipelineSpec(snapshot, { image: "registry.example.com/training:1.0", projectRoot: "/app" });
 * await writeFile("pipeline.yaml", toKfpYaml(ir));
 *
 * @module
 */
export { toPipelineSpec, BACKEND_RUN_ID, SETUP_TASK, FINALIZE_TASK, KFP_SCHEMA_VERSION, ORCH_KFP_SDK_VERSION, DEADLINE_GRACE_SECONDS, type KfpCompileOptions } from "./compile.js";
export { kfpStepSettingsSchema, type KfpStepSettings, type KfpStepSettingsInput } from "./settings.js";
export { kfpName, taskNames, RUN_ID_PARAMETER } from "./names.js";
export { toKfpRetryPolicy, duration, KFP_DEFAULT_BACKOFF_MAX_SECONDS, type KfpRetryPolicy } from "./retry.js";
export { toKfpResources, cpuQuantity, type KfpResourceSpec } from "./resources.js";
export { parameterType, type KfpParameterType } from "./parameters.js";
export { runnerSnapshot } from "./runner-snapshot.js";
export { toKfpYaml } from "./yaml.js";
export { sortKeys } from "./sort-keys.js";
export type { KfpCompileResult, PipelineSpec, PlatformSpec, PipelineTaskSpec, PipelineContainerSpec, KubernetesExecutorConfig } from "./types.js";
/** Moved to core's plugin kit (every backend-scheduled flavor uses it); re-exported for existing callers. */
export { scheduledRunTask, type ScheduledRunTaskOptions } from "@orch/core/plugin";
