/**
 * The default node-type table (AWS workspaces): the general-purpose, memory-optimized and GPU node types
 * Databricks offers for job clusters, with their vCPUs, memory and GPUs as Databricks lists them. A
 * step's ResourceSettings pick the smallest that fits (core's chooseMachineType); Azure and GCP
 * workspaces pass their own table (config key nodeTypes) or name a node type (settings.databricks.nodeTypeId).
 */
import type { MachineType } from "@orch/core/plugin";

export const AWS_NODE_TYPES: readonly MachineType[] = Object.freeze([
  { name: "m5d.large", cpuCount: 2, memory: "8GiB" },
  { name: "m5d.xlarge", cpuCount: 4, memory: "16GiB" },
  { name: "r5d.xlarge", cpuCount: 4, memory: "32GiB" },
  { name: "m5d.2xlarge", cpuCount: 8, memory: "32GiB" },
  { name: "r5d.2xlarge", cpuCount: 8, memory: "64GiB" },
  { name: "m5d.4xlarge", cpuCount: 16, memory: "64GiB" },
  { name: "r5d.4xlarge", cpuCount: 16, memory: "128GiB" },
  { name: "m5d.8xlarge", cpuCount: 32, memory: "128GiB" },
  { name: "r5d.8xlarge", cpuCount: 32, memory: "256GiB" },
  { name: "m5d.16xlarge", cpuCount: 64, memory: "256GiB" },
  { name: "g4dn.xlarge", cpuCount: 4, memory: "16GiB", gpuCount: 1, gpuType: "nvidia-t4" },
  { name: "g5.xlarge", cpuCount: 4, memory: "16GiB", gpuCount: 1, gpuType: "nvidia-a10g" },
  { name: "g4dn.2xlarge", cpuCount: 8, memory: "32GiB", gpuCount: 1, gpuType: "nvidia-t4" },
  { name: "g5.12xlarge", cpuCount: 48, memory: "192GiB", gpuCount: 4, gpuType: "nvidia-a10g" },
  { name: "g4dn.12xlarge", cpuCount: 48, memory: "192GiB", gpuCount: 4, gpuType: "nvidia-t4" },
  { name: "p3.8xlarge", cpuCount: 32, memory: "244GiB", gpuCount: 4, gpuType: "nvidia-v100" },
  { name: "p4d.24xlarge", cpuCount: 96, memory: "1152GiB", gpuCount: 8, gpuType: "nvidia-a100" },
]);
