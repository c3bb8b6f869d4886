import { OrchError } from "../errors.js";
import { newRunId } from "../ids.js";
import type { PipelineDefinition } from "../dsl/pipeline.js";
import { loadOutput } from "../artifacts/artifact-io.js";
import { compilePipeline } from "../snapshot/compile.js";
import { findProjectRoot } from "../project.js";
import { checkCapabilities } from "../plugins/capabilities.js";
import { activateStack, resolveStack, type StackDefinition } from "../plugins/stack.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import type { Loaded } from "../artifacts/streamed.js";
import type { RunRecord, StepRecord } from "../store/journal.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { RunObserver } from "./observer.js";
import { isEntrypointLoading, parkedNestedRun } from "./entrypoint-state.js";
import { assertValidRunId } from "../names.js";
import { assertNewRunId } from "./execute-run.js";

export interface RunOptions<P = Record<string, unknown>> {
  /** A stack object, a stack name known to the host (the orch CLI), or the active/default stack. */
  stack?: StackDefinition | string;
  params?: P;
  /** Stops the run when aborted: launching stops, running steps see the signal, the run ends `stopped`. */
  signal?: AbortSignal;
  observer?: RunObserver;
  projectRoot?: string;
  /** false: settings the flavor cannot honour are warnings, not errors. Default true. */
  strict?: boolean;
  /** Stop on Ctrl-C (SIGINT/SIGTERM) while the run is in progress. Default true. */
  handleSignals?: boolean;
  /** Use this run id (the CLI and native schedulers choose theirs). */
  runId?: string;
}

/** Anything with a step's name and function: a step definition, for typed loading. */
export type StepRef<R> = { readonly name: string; readonly fn: (...args: any[]) => R | Promise<R> };

/** The outcome of a run, with typed access to step outputs. */
export interface RunResult {
  runId: string;
  status: RunRecord["status"];
  run: RunRecord;
  steps: StepRecord[];
  snapshot: Snapshot;
  artifactStore: ArtifactStore;
  /** The record of one step invocation (by id: `train`, `train_2` …). */
  step(id: string): StepRecord | undefined;
  /** Loads an output of a step. Pass the step definition for a typed value; the id defaults to its name. */
  load<R, K extends keyof R & string>(step: StepRef<R>, options: { id?: string; output: K }): Promise<Loaded<R[K]>>;
  load<R>(step: StepRef<R>, options?: { id?: string }): Promise<Loaded<R>>;
  load(stepId: string, options?: { output?: string }): Promise<unknown>;
}

/** Compiles, checks and submits a pipeline to a stack's orchestrator, and waits for the run to end. */
export async function runPipeline(pipeline: PipelineDefinition, options: RunOptions<unknown>): Promise<RunResult> {
  if (isEntrypointLoading()) {
    const parked = parkedNestedRun();
    if (parked) return parked;
    throw new OrchError("E_USAGE", {
      message: `pipeline "${pipeline.name}".run() was called while orch-entrypoint was importing the module that defines it.`,
      hint: "Don't run pipelines at the top level of a module that defines steps; put the run call in a separate main module.",
    });
  }
  // Checked before anything is created: the id becomes a folder, a label and a CLI argument.
  if (options.runId !== undefined) assertValidRunId(options.runId);
  if (pipeline.schedule) {
    // run() runs now; schedules are created by `orch pipeline run` (or the flavor's schedule()).
    process.stderr.write(`[orch] note: pipeline "${pipeline.name}" has a schedule; run() runs it once now. Create the schedule with: orch pipeline run <file>\n`);
  }
  const projectRoot = options.projectRoot ?? findProjectRoot();
  const stack = await activateStack(await resolveStack(options.stack), projectRoot);
  const { snapshot, definitions } = compilePipeline(pipeline, options.params, { projectRoot });
  const plugin = stack.orchestrator.plugin;
  checkCapabilities(plugin, snapshot, {
    artifactStoreRemote: stack.artifactStoreRemote,
    hasContainerRegistry: stack.containerRegistry !== undefined,
    strict: options.strict ?? true,
    warn: (message) => process.stderr.write(`[orch] warning: ${message}\n`),
  });

  const runId = options.runId ?? newRunId();
  // Every flavor journals into this store, wherever it executes: a taken id would merge two runs.
  if (options.runId !== undefined) await assertNewRunId(stack.artifactStore, runId);
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(options.signal?.reason);
  const stopOnSignal = () => {
    process.stderr.write(`\n[orch] stopping run ${runId}: no new steps start; running steps are told to stop (Ctrl-C again to exit now)\n`);
    process.removeListener("SIGINT", stopOnSignal);
    process.removeListener("SIGTERM", stopOnSignal);
    controller.abort(new OrchError("E_CANCELLED", { message: "The run was stopped by a signal." }));
  };
  const handleSignals = options.handleSignals ?? true;
  // Every listener added here is removed in `finally`, whatever throws (create, preflight, submit):
  // a long-lived host (`orch schedule serve`) calls run() many times, and a leaked SIGINT listener
  // would keep Ctrl-C from ending it.
  let orchestrator: Awaited<ReturnType<typeof plugin.create>> | undefined;
  try {
    if (options.signal?.aborted) forwardAbort();
    else options.signal?.addEventListener("abort", forwardAbort, { once: true });
    if (handleSignals) {
      process.on("SIGINT", stopOnSignal);
      process.on("SIGTERM", stopOnSignal);
    }
    orchestrator = await plugin.create(stack.orchestrator.config, {
      projectRoot,
      stackName: stack.name,
      artifactStore: stack.artifactStore,
      ...(stack.containerRegistry ? { containerRegistry: stack.containerRegistry } : {}),
    });
    await orchestrator.preflight?.(snapshot);
    const handle = await orchestrator.submit(snapshot, {
      runId,
      signal: controller.signal,
      definitions,
      pipeline,
      ...(options.observer ? { observer: options.observer } : {}),
    });
    const outcome = await handle.wait();
    return createRunResult(outcome.run, outcome.steps, outcome.snapshot ?? snapshot, stack.artifactStore);
  } finally {
    options.signal?.removeEventListener("abort", forwardAbort);
    process.removeListener("SIGINT", stopOnSignal);
    process.removeListener("SIGTERM", stopOnSignal);
    await orchestrator?.dispose?.();
  }
}

export function createRunResult(run: RunRecord, steps: StepRecord[], snapshot: Snapshot, store: ArtifactStore): RunResult {
  const byId = new Map(steps.map((s) => [s.stepId, s]));
  return {
    runId: run.runId,
    status: run.status,
    run,
    steps,
    snapshot,
    artifactStore: store,
    step: (id) => byId.get(id),
    async load(step: StepRef<unknown> | string, options: { id?: string; output?: string } = {}) {
      const id = typeof step === "string" ? step : (options.id ?? step.name);
      const record = byId.get(id);
      const outputName = options.output ?? (record ? Object.keys(record.outputs)[0] : undefined);
      const output = outputName ? record?.outputs[outputName] : undefined;
      if (!record || !output) {
        throw new OrchError("E_ARTIFACT_NOT_FOUND", {
          step: id,
          message: `Run ${run.runId} has no output ${options.output ? `"${options.output}" ` : ""}for step "${id}"${record ? ` (status: ${record.status})` : ""}.`,
          hint: `Steps in this run: ${[...byId.keys()].join(", ")}.`,
        });
      }
      return loadOutput(store, output);
    },
  } as RunResult;
}
