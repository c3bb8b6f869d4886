/**
 * Choosing a cloud machine type from ResourceSettings. SageMaker (`ml.*`), Azure ML (VM sizes),
 * Databricks (node types) and Vertex all size a step by picking one named type; each flavor owns its
 * table, and this one function owns the rule, so "the smallest type that fits" means the same thing
 * on every flavor.
 */
import { OrchError } from "../errors.js";
import { parseMemory } from "./memory.js";
import type { ResourceSettings } from "./resources.js";

/** One row of a flavor's machine-type table. */
export interface MachineType {
  /** The backend's name for it (`ml.m5.xlarge`, `Standard_DS3_v2`, `i3.xlarge`). */
  name: string;
  cpuCount: number;
  /** Memory with an explicit unit, as in ResourceSettings: `"16GiB"`. */
  memory: string;
  gpuCount?: number;
  /** The GPU model, in the flavor's own words (`nvidia-tesla-t4`, `V100`). */
  gpuType?: string;
}

/** Where the request came from, so a refusal names it. */
export interface MachineTypeRequestSource {
  flavor: string;
  step?: string;
  /** The settings key that can override the choice (`settings.sagemaker.instanceType`). */
  key?: string;
}

/** What a step asks for: its ResourceSettings, plus a GPU model when the flavor's settings name one. */
export type MachineTypeRequest = ResourceSettings & { gpuType?: string };

interface SizedType {
  type: MachineType;
  gpus: number;
  memoryBytes: number;
}

/**
 * The smallest type (fewest GPUs, then CPUs, then memory; table order breaks ties) that satisfies
 * every requested resource. Types with GPUs are only chosen when GPUs are requested, and a requested
 * `gpuType` must match. An empty request gets the smallest CPU-only type.
 * @throws OrchError `E_SETTINGS_INVALID` naming the step and the largest types when nothing fits.
 */
export function chooseMachineType(table: readonly MachineType[], request: MachineTypeRequest, source: MachineTypeRequestSource): MachineType {
  const sized = table.map(
    (type): SizedType => ({ type, gpus: type.gpuCount ?? 0, memoryBytes: parseMemory(type.memory).bytes }),
  );
  const wantGpus = request.gpuCount ?? 0;
  const wantMemory = request.memory === undefined ? 0 : parseMemory(request.memory).bytes;
  const wantCpus = request.cpuCount ?? 0;
  const fits = sized.filter(
    (candidate) =>
      (wantGpus === 0 ? candidate.gpus === 0 : candidate.gpus >= wantGpus) &&
      (request.gpuType === undefined || candidate.type.gpuType === request.gpuType) &&
      candidate.type.cpuCount >= wantCpus &&
      candidate.memoryBytes >= wantMemory,
  );
  const smallest = fits.sort(bySize)[0];
  if (smallest) return smallest.type;
  throw new OrchError("E_SETTINGS_INVALID", {
    flavor: source.flavor,
    ...(source.step === undefined ? {} : { step: source.step }),
    ...(source.key === undefined ? {} : { key: source.key }),
    message:
      `${source.step === undefined ? "The pipeline" : `Step "${source.step}"`} asks for ${describeRequest(request)}, ` +
      `which no ${source.flavor} machine type in the table provides. Largest types: ${largest(sized, wantGpus > 0)}.`,
    hint:
      `Lower the request in ResourceSettings` +
      (source.key ? `, or name a machine type yourself with ${source.key}.` : ".") +
      (request.gpuType === undefined ? "" : ` The GPU model "${request.gpuType}" must match a table row's gpuType.`),
  });
}

function bySize(a: SizedType, b: SizedType): number {
  return a.gpus - b.gpus || a.type.cpuCount - b.type.cpuCount || a.memoryBytes - b.memoryBytes;
}

function describeRequest(request: MachineTypeRequest): string {
  const parts: string[] = [];
  if (request.cpuCount !== undefined) parts.push(`${request.cpuCount} CPU`);
  if (request.memory !== undefined) parts.push(`${request.memory} memory`);
  if (request.gpuCount) parts.push(`${request.gpuCount} GPU${request.gpuType ? ` (${request.gpuType})` : ""}`);
  return parts.length > 0 ? parts.join(", ") : "no particular resources";
}

function largest(sized: SizedType[], gpu: boolean): string {
  const pool = sized.filter((candidate) => (candidate.gpus > 0) === gpu);
  const top = pool.sort(bySize).slice(-3).reverse();
  if (top.length === 0) return gpu ? "none with GPUs" : "none without GPUs";
  return top
    .map(({ type }) => `${type.name} (${type.cpuCount} CPU, ${type.memory}${type.gpuCount ? `, ${type.gpuCount}× ${type.gpuType ?? "GPU"}` : ""})`)
    .join(", ");
}
