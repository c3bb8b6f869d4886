/**
 * The journal's records as zod schemas: the one declaration of what `run.json`, `steps/<id>.json`
 * and `cache/<key>.json` hold (docs/architecture.md). The TypeScript types are derived
 * from them, records read back from a store are validated with them (a damaged or foreign file is an
 * `E_JOURNAL_INVALID` naming the key, never a half-typed object), and `@orch/store-sqlite` derives
 * its rows from the types.
 *
 * Unknown fields are allowed and kept: a record written by a newer orch with an extra field still
 * reads, and is not stripped when it is written back.
 */
import { z } from "zod";
import { OrchError } from "../errors.js";

export const RUN_STATUSES = ["running", "succeeded", "failed", "stopped"] as const;
export const STEP_STATUSES = ["pending", "running", "succeeded", "cached", "failed", "skipped", "stopped"] as const;

export const RunStatusSchema = z.enum(RUN_STATUSES);
export const StepStatusSchema = z.enum(STEP_STATUSES);

/** A serialized error (`toErrorRecord`): what a failed step or run records. */
export const ErrorRecordSchema = z.object({
  message: z.string(),
  code: z.string().optional(),
  name: z.string().optional(),
  hint: z.string().optional(),
  stack: z.string().optional(),
});

/** Links a step output to its artifact; `size` and `type` (the artifact's meta) are in it since the compact layout. */
export const OutputRecordSchema = z.object({
  artifactId: z.string(),
  materializer: z.string(),
  contentHash: z.string(),
  /** Bytes of the artifact's data, checked before a cached or resumed output is reused. */
  size: z.number().int().nonnegative().optional(),
  /** A short description of the value's type, for listings. */
  type: z.string().optional(),
});

/** runs/<runId>/run.json */
export const RunRecordSchema = z.object({
  runId: z.string(),
  pipeline: z.string(),
  pipelineHash: z.string(),
  status: RunStatusSchema,
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  stack: z.string().optional(),
  orchestrator: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  /** Which process drives the run, so a crashed run can be told apart from a live one. */
  host: z.string().optional(),
  pid: z.number().int().optional(),
  /** Start time of process `pid` (Linux: /proc/<pid>/stat starttime), so a reused pid is not taken for it. */
  pidStartTime: z.string().optional(),
  error: ErrorRecordSchema.optional(),
  /** Set (with status `failed`) when the process driving the run died before finishing it. */
  interrupted: z.boolean().optional(),
  /** The run's page in the backend's own UI (a cloud console), when the orchestrator has one. */
  url: z.string().optional(),
});

/** runs/<runId>/steps/<stepId>.json */
export const StepRecordSchema = z.object({
  runId: z.string(),
  stepId: z.string(),
  name: z.string(),
  status: StepStatusSchema,
  attempts: z.number().int().nonnegative(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  cacheKey: z.string().optional(),
  /** For cached steps: the run whose outputs were reused. */
  cachedFrom: z.string().optional(),
  outputs: z.record(z.string(), OutputRecordSchema),
  metadata: z.record(z.string(), z.unknown()),
  error: ErrorRecordSchema.optional(),
});

/**
 * What is known about one artifact: its output record plus where it came from. Assembled from the step
 * record that produced it; stores written before the flat layout also hold it as artifacts/<id>/meta.json.
 */
export const ArtifactMetaSchema = z.object({
  artifactId: z.string(),
  materializer: z.string(),
  contentHash: z.string(),
  size: z.number().int().nonnegative(),
  runId: z.string(),
  stepId: z.string(),
  output: z.string(),
  createdAt: z.string(),
  /** A short description of the value's type, for listings. */
  type: z.string(),
});

/** cache/<cacheKey>.json: which run and step produced outputs for this key. */
export const CacheEntrySchema = z.object({
  cacheKey: z.string(),
  runId: z.string(),
  stepId: z.string(),
  outputs: z.record(z.string(), OutputRecordSchema),
  createdAt: z.string(),
});

export type RunStatus = z.output<typeof RunStatusSchema>;
export type StepStatus = z.output<typeof StepStatusSchema>;
export type OutputRecord = z.output<typeof OutputRecordSchema>;
export type RunRecord = z.output<typeof RunRecordSchema>;
export type StepRecord = z.output<typeof StepRecordSchema>;
export type ArtifactMeta = z.output<typeof ArtifactMetaSchema>;
export type CacheEntry = z.output<typeof CacheEntrySchema>;

/**
 * Validates a record read from `key`. Every problem is listed (one line each), so a hand-edited file
 * says everything that is wrong with it at once.
 */
export function parseJournalRecord<T>(schema: z.ZodType<T>, value: unknown, key: string, where: string): T {
  const parsed = schema.safeParse(value);
  // The value itself, not zod's copy: that would drop fields this version does not know.
  if (parsed.success) return value as T;
  const issues = parsed.error.issues.map((issue) => `  ${issue.path.length ? issue.path.join(".") : "(record)"}: ${issue.message}`);
  throw new OrchError("E_JOURNAL_INVALID", {
    message: `The journal record ${key} in ${where} is not valid:\n${issues.join("\n")}`,
    hint: "It was damaged, edited by hand or written by an incompatible orch version; delete it (a resume recomputes the step) or restore it from a backup.",
  });
}
