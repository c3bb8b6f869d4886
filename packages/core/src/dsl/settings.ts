import { z } from "zod";
import { OrchError } from "../errors.js";
import { canonicalFlavor } from "../names.js";
import { ResourceSettingsSchema, RetryPolicySchema } from "../settings/index.js";
import { describeZodIssues } from "../zod-issues.js";

/** RetryPolicy with every field optional and no defaults, so layers merge field by field. */
const RetryOverridesSchema = z
  .object(
    Object.fromEntries(
      Object.entries(RetryPolicySchema.shape).map(([key, field]) => [key, (field instanceof z.ZodDefault ? field.unwrap() : field).optional()]),
    ) as unknown as { [K in keyof typeof RetryPolicySchema.shape]: z.ZodOptional<z.ZodType<z.output<typeof RetryPolicySchema>[K]>> },
  )
  .strict();

/**
 * Settings a step, a pipeline or a single invocation may carry. Precedence when merged:
 * invocation > step > pipeline > defaults; `resources`, `retry` and each flavor's settings merge
 * field by field, the rest replace.
 */
export const StepSettingsInputSchema = z
  .object({
    resources: ResourceSettingsSchema.optional().describe("CPU, GPU and memory the step needs."),
    retry: RetryOverridesSchema.optional().describe("How often and how fast to retry a failing step."),
    cache: z.boolean().optional().describe("Reuse outputs of an identical earlier execution. Default true."),
    cacheVersion: z.string().optional().describe("Bump to invalidate cached outputs without changing code."),
    timeout: z.number().positive().optional().describe("Seconds an attempt may take before it fails."),
    settings: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .optional()
      .describe("Per-flavor settings keyed by flavor id, validated by that plugin's settingsSchema."),
  })
  .strict();

export type StepSettingsInput = z.input<typeof StepSettingsInputSchema>;
export type StepSettingsOverrides = Omit<StepSettingsInput, "cacheVersion">;
export type ParsedStepSettings = z.output<typeof StepSettingsInputSchema>;

/** The merged settings stored per step in the snapshot. */
export const MergedStepSettingsSchema = z
  .object({
    resources: ResourceSettingsSchema.optional(),
    retry: RetryPolicySchema,
    cache: z.boolean(),
    cacheVersion: z.string().optional(),
    timeout: z.number().positive().optional(),
    flavors: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .strict();
export type MergedStepSettings = z.output<typeof MergedStepSettingsSchema>;

/** A pipeline's own settings: the step settings every step inherits, plus how failures spread. */
export const PipelineSettingsSchema = StepSettingsInputSchema.extend({
  executionMode: z
    .enum(["fail-fast", "continue-on-failure"])
    .default("fail-fast")
    .describe("fail-fast stops launching steps at the first failure; continue-on-failure only skips what depends on it."),
}).strict();
export type PipelineSettings = z.output<typeof PipelineSettingsSchema>;

/**
 * Validates the settings fields of step or invocation options, naming `where` on error. Every key
 * that is neither a setting nor one of `otherOptions` (the caller's own options, e.g. a step's
 * `name`) is refused as unknown, so a misspelt setting (`timout`) is an error, not silently ignored.
 */
export function parseStepSettings(options: Record<string, unknown>, where: string, otherOptions: readonly string[] = []): ParsedStepSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined && !otherOptions.includes(key)) raw[key] = value;
  return validateSettings(StepSettingsInputSchema, raw, where);
}

export function validateSettings<S extends z.ZodType>(schema: S, raw: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = describeZodIssues(parsed.error);
  throw new OrchError("E_SETTINGS_INVALID", {
    key: problems.key,
    message: `Invalid settings for ${where}: ${problems.text}`,
    hint: "Check the setting's spelling and type (see ResourceSettings, RetryPolicy and the flavor's settings in its README).",
  });
}

/** Merges layers from lowest to highest precedence into the settings stored in the snapshot. */
export function mergeSettings(layers: readonly (ParsedStepSettings | undefined)[]): MergedStepSettings {
  let resources: MergedStepSettings["resources"];
  let retry: Record<string, unknown> = {};
  let cache = true;
  let cacheVersion: string | undefined;
  let timeout: number | undefined;
  const flavors: Record<string, Record<string, unknown>> = {};
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.resources) resources = { ...resources, ...layer.resources };
    if (layer.retry) retry = { ...retry, ...layer.retry };
    if (layer.cache !== undefined) cache = layer.cache;
    if (layer.cacheVersion !== undefined) cacheVersion = layer.cacheVersion;
    if (layer.timeout !== undefined) timeout = layer.timeout;
    for (const [flavor, values] of Object.entries(layer.settings ?? {})) {
      const id = canonicalFlavor(flavor); // `local_docker` and `local-docker` are one flavor
      flavors[id] = { ...flavors[id], ...values };
    }
  }
  return {
    ...(resources ? { resources } : {}),
    retry: RetryPolicySchema.parse(retry),
    cache,
    ...(cacheVersion !== undefined ? { cacheVersion } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    flavors,
  };
}
