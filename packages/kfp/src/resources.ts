import { parseMemory, toK8sQuantity, type ResourceSettings } from "@orch/core/plugin";

/** PipelineContainerSpec.ResourceSpec in JSON form. */
export interface KfpResourceSpec {
  cpuLimit?: number;
  cpuRequest?: number;
  memoryLimit?: number;
  memoryRequest?: number;
  resourceCpuLimit?: string;
  resourceCpuRequest?: string;
  resourceMemoryLimit?: string;
  resourceMemoryRequest?: string;
  accelerator?: { type: string; count: string; resourceType: string; resourceCount: string };
}

/** CPUs as a Kubernetes quantity: whole cores as is, fractions in millicores (`0.5` → `500m`). */
export function cpuQuantity(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : `${Math.round(cpus * 1000)}m`;
}

/**
 * ResourceSettings as the KFP SDK writes them: the string fields (Kubernetes quantities, converted by
 * core) and the deprecated numeric ones (CPUs, memory in GB) that older backends still read. The
 * request is also the limit, as for the kubernetes flavor: a step gets what it asked for, no more.
 */
export function toKfpResources(resources: ResourceSettings | undefined, acceleratorType: string): KfpResourceSpec | undefined {
  if (!resources) return undefined;
  const spec: KfpResourceSpec = {};
  if (resources.cpuCount !== undefined) {
    const quantity = cpuQuantity(resources.cpuCount);
    Object.assign(spec, { cpuLimit: resources.cpuCount, cpuRequest: resources.cpuCount, resourceCpuLimit: quantity, resourceCpuRequest: quantity });
  }
  if (resources.memory !== undefined) {
    const quantity = toK8sQuantity(resources.memory);
    const gigabytes = parseMemory(resources.memory).bytes / 1e9;
    Object.assign(spec, { memoryLimit: gigabytes, memoryRequest: gigabytes, resourceMemoryLimit: quantity, resourceMemoryRequest: quantity });
  }
  if (resources.gpuCount) {
    const count = String(resources.gpuCount);
    spec.accelerator = { type: acceleratorType, count, resourceType: acceleratorType, resourceCount: count };
  }
  return Object.keys(spec).length ? spec : undefined;
}
