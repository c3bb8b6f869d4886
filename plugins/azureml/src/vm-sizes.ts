/**
 * The VM sizes a step's command job may get, smallest first within each family, and the choice from
 * the step's ResourceSettings (core's chooseMachineType: the smallest size that fits; GPU sizes only
 * when GPUs are asked for). `settings.azureml.instanceType` wins over the table. The numbers are
 * Azure's published vCPU / memory / GPU counts of each size; the README shows the same table.
 */
import { chooseMachineType, type MachineType, type ResourceSettings } from "@orch/core/plugin";
import { FLAVOR } from "./config.js";

export const VM_SIZES: readonly MachineType[] = Object.freeze([
  // General purpose (Dv2/DSv2): 3.5 GiB per vCPU.
  { name: "Standard_DS1_v2", cpuCount: 1, memory: "3.5GiB" },
  { name: "Standard_DS2_v2", cpuCount: 2, memory: "7GiB" },
  { name: "Standard_DS3_v2", cpuCount: 4, memory: "14GiB" },
  { name: "Standard_DS4_v2", cpuCount: 8, memory: "28GiB" },
  { name: "Standard_DS5_v2", cpuCount: 16, memory: "56GiB" },
  // Memory optimised (Esv3): 8 GiB per vCPU.
  { name: "Standard_E4s_v3", cpuCount: 4, memory: "32GiB" },
  { name: "Standard_E8s_v3", cpuCount: 8, memory: "64GiB" },
  { name: "Standard_E16s_v3", cpuCount: 16, memory: "128GiB" },
  { name: "Standard_E32s_v3", cpuCount: 32, memory: "256GiB" },
  { name: "Standard_E64s_v3", cpuCount: 64, memory: "432GiB" },
  // GPU: NVIDIA T4 (NCasT4_v3), V100 (NCv3), A100 (NC A100 v4, ND A100 v4).
  { name: "Standard_NC4as_T4_v3", cpuCount: 4, memory: "28GiB", gpuCount: 1, gpuType: "T4" },
  { name: "Standard_NC8as_T4_v3", cpuCount: 8, memory: "56GiB", gpuCount: 1, gpuType: "T4" },
  { name: "Standard_NC16as_T4_v3", cpuCount: 16, memory: "110GiB", gpuCount: 1, gpuType: "T4" },
  { name: "Standard_NC64as_T4_v3", cpuCount: 64, memory: "440GiB", gpuCount: 4, gpuType: "T4" },
  { name: "Standard_NC6s_v3", cpuCount: 6, memory: "112GiB", gpuCount: 1, gpuType: "V100" },
  { name: "Standard_NC12s_v3", cpuCount: 12, memory: "224GiB", gpuCount: 2, gpuType: "V100" },
  { name: "Standard_NC24s_v3", cpuCount: 24, memory: "448GiB", gpuCount: 4, gpuType: "V100" },
  { name: "Standard_NC24ads_A100_v4", cpuCount: 24, memory: "220GiB", gpuCount: 1, gpuType: "A100" },
  { name: "Standard_NC48ads_A100_v4", cpuCount: 48, memory: "440GiB", gpuCount: 2, gpuType: "A100" },
  { name: "Standard_NC96ads_A100_v4", cpuCount: 96, memory: "880GiB", gpuCount: 4, gpuType: "A100" },
  { name: "Standard_ND96asr_v4", cpuCount: 96, memory: "900GiB", gpuCount: 8, gpuType: "A100" },
]);

/**
 * The VM size of a step: its `settings.azureml.instanceType` when set, else the smallest size of
 * {@link VM_SIZES} that satisfies its resources; undefined when the step asks for nothing (the
 * compute cluster's own VM size is used).
 */
export function instanceTypeFor(stepId: string, resources: ResourceSettings | undefined, settings: { instanceType?: string; gpuType?: string }): string | undefined {
  if (settings.instanceType) return settings.instanceType;
  if (!resources || (resources.cpuCount === undefined && resources.memory === undefined && !resources.gpuCount)) return undefined;
  return chooseMachineType(VM_SIZES, { ...resources, ...(settings.gpuType ? { gpuType: settings.gpuType } : {}) }, { flavor: FLAVOR, step: stepId, key: "settings.azureml.instanceType" }).name;
}
