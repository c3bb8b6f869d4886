/**
 * The processing instance types a step's ResourceSettings choose from (core's chooseMachineType picks
 * the smallest that fits: fewest GPUs, then CPUs, then memory; table order breaks ties). vCPUs and
 * memory as AWS lists them for SageMaker processing. Burstable ml.t3 types are left out: a step that
 * asks for 2 CPUs should get 2 CPUs all the time.
 */
import { chooseMachineType, type MachineType, type SnapshotStep } from "@orch/core/plugin";
import type { SageMakerOrchestratorConfig, SageMakerStepSettings } from "./config.js";
import { FLAVOR } from "./config.js";

export const ML_INSTANCE_TYPES: readonly MachineType[] = [
  // General purpose (m5), then compute (c5) and memory (r5) optimised: on a tie the general type wins.
  { name: "ml.m5.large", cpuCount: 2, memory: "8GiB" },
  { name: "ml.m5.xlarge", cpuCount: 4, memory: "16GiB" },
  { name: "ml.m5.2xlarge", cpuCount: 8, memory: "32GiB" },
  { name: "ml.m5.4xlarge", cpuCount: 16, memory: "64GiB" },
  { name: "ml.m5.12xlarge", cpuCount: 48, memory: "192GiB" },
  { name: "ml.m5.24xlarge", cpuCount: 96, memory: "384GiB" },
  { name: "ml.c5.xlarge", cpuCount: 4, memory: "8GiB" },
  { name: "ml.c5.2xlarge", cpuCount: 8, memory: "16GiB" },
  { name: "ml.c5.4xlarge", cpuCount: 16, memory: "32GiB" },
  { name: "ml.c5.9xlarge", cpuCount: 36, memory: "72GiB" },
  { name: "ml.c5.18xlarge", cpuCount: 72, memory: "144GiB" },
  { name: "ml.r5.large", cpuCount: 2, memory: "16GiB" },
  { name: "ml.r5.xlarge", cpuCount: 4, memory: "32GiB" },
  { name: "ml.r5.2xlarge", cpuCount: 8, memory: "64GiB" },
  { name: "ml.r5.4xlarge", cpuCount: 16, memory: "128GiB" },
  { name: "ml.r5.12xlarge", cpuCount: 48, memory: "384GiB" },
  { name: "ml.r5.24xlarge", cpuCount: 96, memory: "768GiB" },
  // GPUs: only chosen when a step asks for GPUs; on a tie the T4 (cheapest) wins. P3 (V100) types are left out: with
  // "fewest CPUs first" they would win 2- and 4-GPU requests at about three times the price; name one with instanceType.
  { name: "ml.g4dn.xlarge", cpuCount: 4, memory: "16GiB", gpuCount: 1, gpuType: "T4" },
  { name: "ml.g4dn.2xlarge", cpuCount: 8, memory: "32GiB", gpuCount: 1, gpuType: "T4" },
  { name: "ml.g4dn.4xlarge", cpuCount: 16, memory: "64GiB", gpuCount: 1, gpuType: "T4" },
  { name: "ml.g4dn.12xlarge", cpuCount: 48, memory: "192GiB", gpuCount: 4, gpuType: "T4" },
  { name: "ml.g5.xlarge", cpuCount: 4, memory: "16GiB", gpuCount: 1, gpuType: "A10G" },
  { name: "ml.g5.2xlarge", cpuCount: 8, memory: "32GiB", gpuCount: 1, gpuType: "A10G" },
  { name: "ml.g5.12xlarge", cpuCount: 48, memory: "192GiB", gpuCount: 4, gpuType: "A10G" },
  { name: "ml.g5.48xlarge", cpuCount: 192, memory: "768GiB", gpuCount: 8, gpuType: "A10G" },
];

/** ZenML's default processing instance type, for a step that asks for nothing. */
export const DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge";

/**
 * A step's processing instance type: `settings.sagemaker.instanceType`, else the smallest table type
 * satisfying its resources, else the config's instanceType, else ml.m5.xlarge.
 * @throws OrchError E_SETTINGS_INVALID when no type satisfies the step's resources.
 */
export function instanceTypeFor(step: SnapshotStep, settings: SageMakerStepSettings, config: Pick<SageMakerOrchestratorConfig, "instanceType">): string {
  if (settings.instanceType) return settings.instanceType;
  const resources = step.settings.resources;
  const asked = resources && (resources.cpuCount !== undefined || resources.memory !== undefined || (resources.gpuCount ?? 0) > 0);
  if (!asked) return config.instanceType ?? DEFAULT_INSTANCE_TYPE;
  return chooseMachineType(ML_INSTANCE_TYPES, resources, { flavor: FLAVOR, step: step.id, key: "settings.sagemaker.instanceType" }).name;
}
