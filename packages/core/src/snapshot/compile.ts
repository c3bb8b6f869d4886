import { OrchError, isOrchError } from "../errors.js";
import { canonicalJson, hashJson } from "../hash.js";
import { findUnserializable } from "../artifacts/materializers.js";
import { PipelineBuilder, type Invocation } from "../dsl/builder.js";
import type { PipelineDefinition } from "../dsl/pipeline.js";
import type { StepDefinition } from "../dsl/step.js";
import { findProjectRoot, toProjectPath } from "../project.js";
import { userFrame } from "../user-frame.js";
import { describeZodIssues } from "../zod-issues.js";
import { declaresNoParams, refuseUnknownParams, schemaParamKeys, trackParamReads } from "./params.js";
import { SNAPSHOT_SCHEMA_VERSION, type Snapshot, type SnapshotStep } from "./snapshot.js";

export interface CompileOptions {
  /** Folder that source paths are recorded relative to. Default: the nearest project root. */
  projectRoot?: string;
}

/** A snapshot plus the step functions behind it, for executing it in this process. */
export interface CompiledPipeline {
  snapshot: Snapshot;
  definitions: Map<string, StepDefinition>;
}

/**
 * Compiles a pipeline and its parameters into the snapshot every orchestrator consumes.
 * Deterministic: the same code and parameters give byte-identical JSON (`serializeSnapshot`).
 */
export function compile(pipeline: PipelineDefinition, params?: unknown, options: CompileOptions = {}): Snapshot {
  return compilePipeline(pipeline, params, options).snapshot;
}

export function compilePipeline(pipeline: PipelineDefinition, params?: unknown, options: CompileOptions = {}): CompiledPipeline {
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const parameters = validateParams(pipeline, params);
  const builder = new PipelineBuilder(pipeline.name, pipeline.settings);
  if (!pipeline.dynamic) {
    // Without a params schema, the parameters the function never reads are the unknown ones.
    const tracked = pipeline.paramsSchema ? undefined : trackParamReads(parameters);
    let result: unknown;
    try {
      result = builder.run(() => pipeline.fn(tracked?.params ?? parameters, staticContext));
    } catch (error) {
      throw compileError(pipeline.name, error, projectRoot);
    }
    if (result instanceof Promise) {
      result.catch(() => {}); // the error below explains what to do; don't also crash on an unhandled rejection
      throw new OrchError("E_COMPILE", {
        message: `Pipeline "${pipeline.name}" is async but not declared dynamic.`,
        hint: "Static pipeline functions must be synchronous. Use pipeline({ name, dynamic: true }, async (p, ctx) => …) to await step values.",
      });
    }
    if (tracked) refuseUnknownParams(pipeline.name, tracked.unread(), tracked.read());
  }
  return { snapshot: buildSnapshot(pipeline, parameters, [...builder.invocations.values()], projectRoot), definitions: definitionsOf(builder) };
}

const staticContext = Object.freeze({
  get runId(): string {
    throw new OrchError("E_COMPILE", { message: "The run id is not known while compiling a static pipeline.", hint: "Use getStepContext().runId inside a step." });
  },
  signal: new AbortController().signal,
});

/** An error thrown by the user's pipeline function while it was wiring steps: theirs to fix (exit 2), with their code's location. */
function compileError(pipelineName: string, error: unknown, projectRoot: string): unknown {
  if (isOrchError(error)) return error;
  const where = userFrame(error, projectRoot);
  const detail = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : `threw ${typeof error === "object" ? JSON.stringify(error) ?? String(error) : String(error)}`;
  return new OrchError("E_COMPILE", {
    message: `Pipeline "${pipelineName}" failed while compiling${where ? ` at ${where}` : ""}: ${detail}`,
    hint: `Fix the pipeline function${where ? ` (${where})` : ""}. A static pipeline's function runs when the pipeline is compiled, to wire its steps; step bodies run later.`,
    cause: error,
  });
}

export function validateParams(pipeline: PipelineDefinition, params: unknown): Record<string, unknown> {
  let value: unknown = params ?? {};
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const given = Object.keys(value);
    if (pipeline.paramsSchema) {
      const known = schemaParamKeys(pipeline.paramsSchema);
      if (known) refuseUnknownParams(pipeline.name, given.filter((k) => !known.includes(k)), known);
    } else if (declaresNoParams(pipeline.fn)) refuseUnknownParams(pipeline.name, given, []);
  }
  if (pipeline.paramsSchema) {
    const parsed = pipeline.paramsSchema.safeParse(value);
    if (!parsed.success) {
      const problems = describeZodIssues(parsed.error);
      throw new OrchError("E_PARAMS_INVALID", {
        key: problems.key,
        message: `Invalid parameters for pipeline "${pipeline.name}": ${problems.text}`,
        hint: "Pass parameters that match the pipeline's params schema (orch pipeline run … --param key=value).",
      });
    }
    value = parsed.data;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OrchError("E_PARAMS_INVALID", { message: `Parameters for pipeline "${pipeline.name}" must be an object.`, hint: "Pass { key: value }." });
  }
  const problem = findUnserializable(value, "params");
  if (problem) {
    throw new OrchError("E_PARAMS_INVALID", { message: `Parameters for pipeline "${pipeline.name}": ${problem}.`, hint: "Parameters must be JSON-serializable." });
  }
  return value as Record<string, unknown>;
}

export function buildSnapshot(
  pipeline: PipelineDefinition,
  parameters: Record<string, unknown>,
  invocations: Invocation[],
  projectRoot: string,
): Snapshot {
  const steps: Record<string, SnapshotStep> = {};
  // Call order is already topological: a step can only receive handles of steps called before it.
  for (const invocation of invocations) steps[invocation.id] = snapshotStep(invocation, projectRoot);
  const order = invocations.map((i) => i.id);
  return {
    schemaVersion: SNAPSHOT_SCHEMA_VERSION,
    pipeline: {
      name: pipeline.name,
      hash: structuralHash(pipeline, steps, order),
      dynamic: pipeline.dynamic,
      source: pipeline.sourceFile ? { module: toProjectPath(pipeline.sourceFile, projectRoot) } : null,
      settings: pipeline.settings,
      ...(pipeline.schedule ? { schedule: pipeline.schedule } : {}),
    },
    parameters: parameters as Snapshot["parameters"],
    steps,
    order,
  };
}

export function snapshotStep(invocation: Invocation, projectRoot: string): SnapshotStep {
  const { definition } = invocation;
  return {
    id: invocation.id,
    name: definition.name,
    source: { module: definition.sourceFile ? toProjectPath(definition.sourceFile, projectRoot) : "" },
    codeHash: definition.codeHash,
    inputs: invocation.inputs as SnapshotStep["inputs"],
    upstream: invocation.upstream,
    outputs: [...definition.outputNames],
    settings: invocation.settings,
  };
}

/** Hash of what the pipeline is (steps, code, wiring, settings), leaving out parameter values. */
function structuralHash(pipeline: PipelineDefinition, steps: Record<string, SnapshotStep>, order: string[]): string {
  const shape = order.map((id) => {
    const s = steps[id]!;
    return [id, s.name, s.codeHash, s.upstream, s.outputs, s.inputs.map((i) => (i.kind === "artifact" ? [i.step, i.output] : i.kind)), s.settings];
  });
  return hashJson([pipeline.name, pipeline.dynamic, pipeline.settings, shape]);
}

/** Deterministic JSON text of a snapshot (sorted keys), as written to `runs/<id>/snapshot.json`. */
export function serializeSnapshot(snapshot: Snapshot): string {
  return canonicalJson(snapshot);
}

function definitionsOf(builder: PipelineBuilder): Map<string, StepDefinition> {
  const map = new Map<string, StepDefinition>();
  for (const [id, invocation] of builder.invocations) map.set(id, invocation.definition);
  return map;
}
