import type { z } from "zod";
import { OrchError } from "../errors.js";
import { assertValidName } from "../names.js";
import { callerFile } from "../project.js";
import { ScheduleSchema, type Schedule, type ScheduleInput } from "../settings/index.js";
import type { RunOptions, RunResult } from "../run/run-pipeline.js";
import { PipelineSettingsSchema, validateSettings, type PipelineSettings, type StepSettingsInput } from "./settings.js";
import { describeZodIssues } from "../zod-issues.js";

/** Context a dynamic pipeline function receives while it runs. */
export interface DynamicPipelineContext {
  runId: string;
  signal: AbortSignal;
}

export interface PipelineOptions<S extends z.ZodType | undefined = undefined> extends StepSettingsInput {
  name: string;
  /** zod schema of the parameters; they are validated (and defaulted) before anything runs. */
  params?: S;
  /** When set, the pipeline runs its function at execution time and may await step values. */
  dynamic?: boolean;
  schedule?: ScheduleInput;
  executionMode?: "fail-fast" | "continue-on-failure";
}

type ParamsOf<S, P> = S extends z.ZodType ? z.output<S> : P;
type ParamsInputOf<S, P> = S extends z.ZodType ? z.input<S> : P;

export interface PipelineDefinition<P = any, PIn = P> {
  readonly kind: "pipeline";
  readonly name: string;
  readonly dynamic: boolean;
  readonly fn: (params: P, context: DynamicPipelineContext) => unknown;
  readonly paramsSchema: z.ZodType | undefined;
  readonly settings: PipelineSettings;
  readonly schedule: Schedule | undefined;
  readonly sourceFile: string | undefined;
  /** Compiles and runs the pipeline on a stack (the active one by default); resolves when it ends. */
  run(options?: RunOptions<PIn>): Promise<RunResult>;
}

/**
 * Declares a pipeline. The function wires steps together; for static pipelines it runs once at
 * compile time, for dynamic ones at execution time.
 *
 * @example
 * const training = pipeline({ name: "training", params: z.object({ trees: z.number().default(50) }) }, (p) => {
 *   const data = loadData();
 *   evaluate(train(data, p.trees), data);
 * });
 * await training.run({ params: { trees: 100 } });
 */
export function pipeline<S extends z.ZodType | undefined = undefined, P extends Record<string, unknown> = Record<string, never>>(
  options: PipelineOptions<S>,
  fn: (params: ParamsOf<S, P>, context: DynamicPipelineContext) => unknown,
): PipelineDefinition<ParamsOf<S, P>, ParamsInputOf<S, P>> {
  assertValidName("pipeline", options.name);
  const where = `pipeline "${options.name}"`;
  const { name: _n, params, dynamic, schedule, ...rest } = options;
  const settings = validateSettings(PipelineSettingsSchema, rest, where);
  const parsedSchedule = schedule === undefined ? undefined : validateSchedule(schedule, where);
  const sourceFile = callerFile();
  const definition: PipelineDefinition<ParamsOf<S, P>, ParamsInputOf<S, P>> = {
    kind: "pipeline",
    name: options.name,
    dynamic: dynamic ?? false,
    fn: fn as PipelineDefinition["fn"],
    paramsSchema: params,
    settings,
    schedule: parsedSchedule,
    sourceFile,
    async run(runOptions) {
      if (!pipelineRunner) {
        throw new OrchError("E_USAGE", {
          message: `pipeline "${options.name}".run() has no runner: @orch/core's entry was not loaded in this process.`,
          hint: 'Import from "@orch/core" (its entry connects run() to the stack and the orchestrator).',
        });
      }
      return pipelineRunner(definition, runOptions ?? {});
    },
  };
  if (sourceFile) pipelinesBySource.set(`${sourceFile}#${options.name}`, definition);
  return Object.freeze(definition);
}

type PipelineRunner = (pipeline: PipelineDefinition, options: RunOptions<unknown>) => Promise<RunResult>;
let pipelineRunner: PipelineRunner | undefined;

/**
 * Connects `pipeline.run()` to the code that activates a stack and submits the run. `run()` is sugar
 * for `runPipeline(definition, options)`, which sits layers above the DSL (stacks, plugins, the
 * orchestrator): the DSL does not import it, core's entry (index.ts) registers it once. This keeps
 * `@orch/core`'s layers one-way (settings < dsl < snapshot < runner < plugins < host).
 */
export function setPipelineRunner(runner: PipelineRunner): void {
  pipelineRunner = runner;
}

/** Pipelines by defining module and name, so orch-entrypoint can run a dynamic pipeline's function. */
const pipelinesBySource = new Map<string, PipelineDefinition>();

export function registeredPipeline(sourceFile: string, name: string): PipelineDefinition | undefined {
  return pipelinesBySource.get(`${sourceFile}#${name}`);
}

function validateSchedule(schedule: ScheduleInput, where: string): Schedule {
  const parsed = ScheduleSchema.safeParse(schedule);
  if (parsed.success) return parsed.data;
  throw new OrchError("E_SCHEDULE_INVALID", {
    message: `Invalid schedule for ${where}: ${describeZodIssues(parsed.error).text}`,
    hint: 'Give exactly one of cron ("0 2 * * *"), intervalSeconds or runOnceAt.',
  });
}

export function isPipelineDefinition(value: unknown): value is PipelineDefinition {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "pipeline";
}
