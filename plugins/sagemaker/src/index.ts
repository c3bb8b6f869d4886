/**
 * @orch/plugin-sagemaker — the SageMaker Pipelines orchestrator. A pipeline becomes a SageMaker
 * pipeline definition with one Processing step per orch step (each container runs
 * `orch-entrypoint step`), created or updated when its definition changed, and each run one
 * pipeline execution. Instance types are chosen from the steps' ResourceSettings; runs can be
 * stopped; logs come from CloudWatch; schedules are EventBridge Scheduler schedules.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { sagemaker } from "@orch/plugin-sagemaker";
 * const stack = defineStack({
 *   name: "aws",
 *   orchestrator: sagemaker({ executionRole: "arn:aws:iam::123456789012:role/SageMakerExecution", region: "eu-west-1", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/training:1.0" }),
 *   artifactStore: { flavor: "s3", config: { path: "s3://my-bucket/orch" } },
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, settingsSchema, RETRYABLE_EXCEPTION_TYPES } from "./config.js";
export type { SageMakerOrchestratorConfig, SageMakerOrchestratorConfigInput, SageMakerStepSettings } from "./config.js";
export { ML_INSTANCE_TYPES, DEFAULT_INSTANCE_TYPE } from "./instance-types.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // A definition fixes every step before the execution starts.
    dynamic: false,
    // EventBridge Scheduler: cron (AWS's 6-field dialect), rate() for intervals, at() for one run.
    schedules: { cron: true, interval: true, once: true, manage: true },
    // The step runner retries the step's own failures inside its processing job; RetryPolicies retry service faults.
    retries: "runner",
    // Resources choose an ml.* instance type (the smallest that fits), they are not exact limits.
    resources: "mapped",
    stop: true,
    logs: true,
    parallel: true,
    // Processing jobs reach only a bucket, and pull the image from a registry.
    requires: { remoteArtifactStore: true, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `sagemaker({ executionRole: "arn:aws:iam::…:role/…", image: "…" })`. */
export const sagemaker = componentFactory(plugin);
