import { z } from "zod";
import { parseMemory } from "./memory.js";

/**
 * Compute resources for a step or pipeline. Every flavor reads these same fields; a flavor that cannot
 * honour one says so at submit instead of ignoring it.
 */
export const ResourceSettingsSchema = z
  .object({
    cpuCount: z.number().positive().optional().describe("CPUs to request; fractions allowed (0.5 = half a core)."),
    gpuCount: z.number().int().min(0).optional().describe("Whole GPUs to request."),
    memory: z
      .string()
      .superRefine((value, ctx) => {
        // Reuse parseMemory's message so zod and direct callers report the same thing.
        try {
          parseMemory(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      })
      .optional()
      .describe('Memory with an explicit unit: "512MiB", "8GB" (KB…PB = powers of 1000, KiB…PiB = powers of 1024).'),
  })
  .strict()
  .describe("Compute resources requested for a step.");

/** Validated resource settings as written by the user. */
export type ResourceSettings = z.output<typeof ResourceSettingsSchema>;

/** Resource settings with memory converted once to bytes, for flavors to map onto their backend. */
export interface NormalizedResources {
  cpuCount?: number;
  gpuCount?: number;
  memoryBytes?: number;
}

/** Convert validated resource settings to unit-free numbers; absent settings stay absent. */
export function normalizeResources(resources: ResourceSettings): NormalizedResources {
  const normalized: NormalizedResources = {};
  if (resources.cpuCount !== undefined) normalized.cpuCount = resources.cpuCount;
  if (resources.gpuCount !== undefined) normalized.gpuCount = resources.gpuCount;
  if (resources.memory !== undefined) normalized.memoryBytes = parseMemory(resources.memory).bytes;
  return normalized;
}
