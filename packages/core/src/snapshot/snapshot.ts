import { z } from "zod";
import { OrchError } from "../errors.js";
import { MergedStepSettingsSchema, PipelineSettingsSchema } from "../dsl/settings.js";
import { ScheduleSchema } from "../settings/index.js";
import { describeZodIssues } from "../zod-issues.js";

// Declared with the DSL (a pipeline validates them when it is defined); re-exported with the snapshot that stores them.
export { PipelineSettingsSchema, type PipelineSettings } from "../dsl/settings.js";

export const SNAPSHOT_SCHEMA_VERSION = 1;

const JsonValue = z.json();

export const InputBindingSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("artifact"), step: z.string(), output: z.string() }).strict(),
  z.object({ kind: z.literal("param"), value: JsonValue }).strict(),
  z.object({ kind: z.literal("undefined") }).strict(),
]);

export const SnapshotStepSchema = z
  .object({
    id: z.string().describe("Invocation id: the step name, then name_2, name_3 … in call order, or an explicit id."),
    name: z.string().describe("Step name."),
    source: z.object({ module: z.string().describe("Module defining the step, relative to the project root.") }).strict(),
    codeHash: z.string().describe("Hash of the code the step runs: its function, its module and the project modules it imports (packages by name@version), or cacheVersion in place of the modules."),
    inputs: z.array(InputBindingSchema).describe("Positional arguments: another step's output or a literal parameter."),
    upstream: z.array(z.string()).describe("Invocation ids this step waits for."),
    outputs: z.array(z.string()).describe("Output names."),
    settings: MergedStepSettingsSchema,
  })
  .strict();

/** The one document every orchestrator consumes. */
export const SnapshotSchema = z
  .object({
    schemaVersion: z.literal(SNAPSHOT_SCHEMA_VERSION),
    pipeline: z
      .object({
        name: z.string(),
        hash: z.string().describe("Structural hash: steps, code and wiring, not parameter values."),
        dynamic: z.boolean(),
        source: z
          .object({ module: z.string(), export: z.string().optional() })
          .strict()
          .nullable()
          .describe("Module defining the pipeline, relative to the project root."),
        settings: PipelineSettingsSchema,
        schedule: ScheduleSchema.optional(),
      })
      .strict(),
    parameters: z.record(z.string(), JsonValue),
    steps: z.record(z.string(), SnapshotStepSchema),
    order: z.array(z.string()).describe("A topological order of the steps."),
  })
  .strict();

export type Snapshot = z.output<typeof SnapshotSchema>;
export type SnapshotStep = z.output<typeof SnapshotStepSchema>;

/** Validates JSON read from disk or received from another process. */
export function parseSnapshot(value: unknown, origin: string): Snapshot {
  const parsed = SnapshotSchema.safeParse(value);
  if (!parsed.success) {
    throw new OrchError("E_SNAPSHOT_INVALID", {
      message: `The snapshot from ${origin} is not valid: ${describeZodIssues(parsed.error).text}`,
      hint: "It was written by an incompatible orch version or edited by hand; compile the pipeline again.",
    });
  }
  return parsed.data;
}
