import { hostname } from "node:os";
import { OrchError, toErrorRecord } from "../errors.js";
import { PipelineBuilder, type Invocation } from "../dsl/builder.js";
import type { PipelineDefinition } from "../dsl/pipeline.js";
import type { StepDefinition } from "../dsl/step.js";
import { checkArtifact, loadOutput } from "../artifacts/artifact-io.js";
import { serializeSnapshot, snapshotStep } from "../snapshot/compile.js";
import type { Snapshot, SnapshotStep } from "../snapshot/snapshot.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import {
  COMPLETED_STEP_STATUSES,
  journalKeys,
  readRunRecord,
  readStepRecord,
  readStepRecords,
  writeRunRecord,
  writeStepRecord,
  type RunRecord,
  type RunStatus,
  type StepRecord,
} from "../store/journal.js";
import { combineObservers, type RunObserver } from "./observer.js";
import { createScheduler, type LaunchOutcome, type NodeState } from "./scheduler.js";
import { runStep } from "./step-runner.js";
import { createStepLog } from "./step-log.js";
import { findProjectRoot } from "../project.js";
import { assertValidRunId } from "../names.js";
import { ownStartTime } from "./process-identity.js";
import { acquireRunOwnership } from "./run-owner.js";

/** Starts one step somewhere else (a container, a Kubernetes Job) and resolves when it has ended. */
export type StepLauncher = (request: LaunchRequest) => Promise<LaunchResult>;

export interface LaunchRequest {
  runId: string;
  step: SnapshotStep;
  snapshot: Snapshot;
  signal: AbortSignal;
  /** Raw output lines of the step (container logs) for the step log and live views. */
  writeLog(line: string): void;
}

export interface LaunchResult {
  /** Why the step failed when it could not write its own record (crash, OOM kill, image missing). */
  failureReason?: string;
}

/** How a run ended, with the final snapshot (dynamic pipelines add steps as they run). */
export interface RunOutcome {
  run: RunRecord;
  steps: StepRecord[];
  snapshot: Snapshot;
}

export interface ExecuteRunOptions {
  snapshot: Snapshot;
  runId: string;
  store: ArtifactStore;
  /** Step functions for in-process execution (static pipelines). */
  definitions?: Map<string, StepDefinition>;
  /** The pipeline itself, required for dynamic pipelines (its function runs now). */
  pipeline?: PipelineDefinition;
  maxParallelism?: number;
  signal?: AbortSignal;
  observer?: RunObserver;
  /** Runs steps elsewhere; default: in this process. */
  launch?: StepLauncher;
  /** Keep steps of this run that already succeeded (resume after a crash or a stop). */
  resume?: boolean;
  stack?: string;
  orchestrator?: string;
  projectRoot?: string;
}

/**
 * Executes a snapshot: writes the journal (snapshot, run record, step records), schedules steps with
 * the topological scheduler and launches each in-process or through `launch`. Always ends the run
 * record in a final state, whatever happens.
 *
 * The calling process owns the run while it executes (runs/<runId>/owner.lock, see run-owner.ts): a
 * second executor of the same run — a concurrent resume — is refused with E_RUN_LOCKED. A new run
 * (not `resume`) under an id that already has a journal is refused with E_RUN_EXISTS.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<RunOutcome> {
  const { store, runId } = options;
  assertValidRunId(runId);
  // (run.json only: a submitter may have stored the snapshot for this process to execute.)
  if (!options.resume) await assertNewRunId(store, runId, { snapshot: false });
  const ownership = await acquireRunOwnership(store, runId);
  try {
    // Checked again as the owner: a process that created the same id just before us has finished now.
    if (!options.resume) await assertNewRunId(store, runId, { snapshot: false });
    return await executeOwnedRun(options);
  } finally {
    await ownership.release().catch(() => {});
  }
}

/** Refuses a run id that already has a journal in the store (two runs would merge their records). */
export async function assertNewRunId(store: ArtifactStore, runId: string, check: { snapshot?: boolean } = {}): Promise<void> {
  if ((await store.exists(journalKeys.run(runId))) || (check.snapshot !== false && (await store.exists(journalKeys.snapshot(runId))))) {
    throw new OrchError("E_RUN_EXISTS", {
      message: `Run id "${runId}" is already taken by a run in ${store.uri}.`,
      hint: `Choose another --run-id (or leave it out for a generated one); to continue that run use: orch run resume ${runId}`,
    });
  }
}

async function executeOwnedRun(options: ExecuteRunOptions): Promise<RunOutcome> {
  const { store, runId } = options;
  let snapshot = options.snapshot;
  const observer = combineObservers([options.observer]);
  const records = new Map<string, StepRecord>();
  const previous = options.resume ? await readRunRecord(store, runId) : undefined;
  const run: RunRecord = {
    runId,
    pipeline: snapshot.pipeline.name,
    pipelineHash: snapshot.pipeline.hash,
    status: "running",
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    ...(options.stack ? { stack: options.stack } : {}),
    ...(options.orchestrator ? { orchestrator: options.orchestrator } : {}),
    parameters: snapshot.parameters,
    host: hostname(),
    pid: process.pid,
    ...(ownStartTime() ? { pidStartTime: ownStartTime() } : {}),
  };
  try {
    await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
    await writeRunRecord(store, run);
    await observer.runStarted(run, snapshot);
  } catch (error) {
    // The run could not start (the store refused a write, the index failed): end it as failed with
    // the reason where that can still be written, so nothing shows it as running forever.
    run.status = "failed";
    run.finishedAt = new Date().toISOString();
    run.error = toErrorRecord(error);
    await writeRunRecord(store, run).catch(() => {});
    await Promise.resolve(observer.runFinished(run, [])).catch(() => {});
    throw error;
  }

  const onRecord = (record: StepRecord) => {
    records.set(record.stepId, record);
    void observer.stepUpdated(record);
  };
  const dynamicSteps = new Map<string, { step: SnapshotStep; definition: StepDefinition }>();
  const stepById = (id: string) => snapshot.steps[id] ?? dynamicSteps.get(id)!.step;
  const definitionOf = (id: string) => options.definitions?.get(id) ?? dynamicSteps.get(id)?.definition;

  const launchInProcess = async (id: string, signal: AbortSignal): Promise<LaunchOutcome> => {
    const definition = definitionOf(id);
    if (!definition) {
      throw new OrchError("E_SOURCE_LOAD", {
        step: id,
        message: `No step function for step "${id}" (${stepById(id).name} from ${stepById(id).source.module}): it is in the run's snapshot but was not loaded.`,
        hint: `Make sure ${stepById(id).source.module} still defines step "${stepById(id).name}" with step({ name }) at top level.`,
      });
    }
    const record = await runStep({
      snapshot,
      step: stepById(id),
      runId,
      store,
      definition,
      signal,
      upstreamRecord: async (upstreamId) => records.get(upstreamId) ?? readStepRecord(store, runId, upstreamId),
      onRecord,
      onLogLine: (line) => observer.logLine(id, line),
      journalRunning: false,
      ...(options.projectRoot ? { projectRoot: options.projectRoot } : {}),
    });
    return record.status as LaunchOutcome;
  };

  const launchElsewhere = async (id: string, signal: AbortSignal): Promise<LaunchOutcome> => {
    const step = stepById(id);
    onRecord({ runId, stepId: id, name: step.name, status: "running", attempts: 0, startedAt: new Date().toISOString(), outputs: {}, metadata: {} });
    let result: LaunchResult = {};
    try {
      result = await options.launch!({ runId, step, snapshot, signal, writeLog: (line) => observer.logLine(id, line) });
    } catch (error) {
      result = { failureReason: toErrorRecord(error).message };
    }
    const written = await readStepRecord(store, runId, id);
    if (written && written.status !== "running") {
      onRecord(written);
      return written.status as LaunchOutcome;
    }
    // The step process died before it could finish its record (killed, out of memory, never started).
    const failed: StepRecord = {
      ...(written ?? { runId, stepId: id, name: step.name, attempts: 1, outputs: {}, metadata: {} }),
      status: signal.aborted ? "stopped" : "failed",
      finishedAt: new Date().toISOString(),
      error: { message: result.failureReason ?? "the step process ended without writing its result" },
    };
    await writeStepRecord(store, failed);
    onRecord(failed);
    return failed.status as LaunchOutcome;
  };

  /**
   * A launch that rejects (no step function, the store refused the step's record, a launcher bug)
   * still ends as a failed step record with the error and its hint, so the step never disappears from
   * the run's outcome, the journal or the index.
   */
  const recordRejection =
    (launch: (id: string, signal: AbortSignal) => Promise<LaunchOutcome>) =>
    async (id: string, signal: AbortSignal): Promise<LaunchOutcome> => {
      try {
        return await launch(id, signal);
      } catch (error) {
        const step = stepById(id);
        const earlier = records.get(id);
        const record: StepRecord = {
          runId,
          stepId: id,
          name: step.name,
          attempts: earlier?.attempts ?? 0,
          ...(earlier?.startedAt ? { startedAt: earlier.startedAt } : {}),
          outputs: {},
          metadata: earlier?.metadata ?? {},
          status: signal.aborted ? "stopped" : "failed",
          finishedAt: new Date().toISOString(),
          error: { hint: `The step could not be run; see the error above (orch run logs ${runId} --step ${id}).`, ...toErrorRecord(error) },
        };
        // The store may be what failed: the record still reaches the outcome and the observers.
        await writeStepRecord(store, record).catch(() => {});
        onRecord(record);
        return record.status as LaunchOutcome;
      }
    };

  const scheduler = createScheduler({
    concurrency: options.maxParallelism ?? Number.POSITIVE_INFINITY,
    failFast: snapshot.pipeline.settings.executionMode !== "continue-on-failure",
    signal: options.signal,
    launch: recordRejection(options.launch ? launchElsewhere : launchInProcess),
    async onNotLaunched(id, state, reason) {
      const step = stepById(id);
      const record: StepRecord = { runId, stepId: id, name: step.name, status: state, attempts: 0, outputs: {}, metadata: {}, error: { message: `not run: ${reason}` } };
      try {
        await writeStepRecord(store, record);
      } finally {
        // Even when the store refuses the record, the outcome and the observers see the step.
        onRecord(record);
      }
    },
  });

  // Wrapped, so a dynamic pipeline function that throws undefined (or 0, or "") still fails the run.
  let failure: { error: unknown } | undefined;
  try {
    // Resolves once the step is handed to the scheduler; `ended` resolves when the step has ended.
    // Steps that run in this execution; on resume, a completed step downstream of one runs again too.
    const running = new Set<string>();
    // What an interrupted run recorded, read once (not per step: the local journal is one file).
    let previous: Promise<Map<string, StepRecord>> | undefined;
    const previousRecords = () => (previous ??= readStepRecords(store, runId).then((all) => new Map(all.map((r) => [r.stepId, r]))));
    const schedule = async (step: SnapshotStep): Promise<{ ended: Promise<NodeState> }> => {
      const existing = options.resume ? (await previousRecords()).get(step.id) : undefined;
      if (existing && COMPLETED_STEP_STATUSES.has(existing.status)) {
        const why = await whyNotReusable(store, existing, step.upstream.filter((id) => running.has(id)));
        if (why === undefined) {
          records.set(step.id, existing);
          scheduler.addCompleted(step.id, step.upstream, existing.status as "succeeded" | "cached");
          return { ended: Promise.resolve(existing.status as NodeState) };
        }
        const log = createStepLog(store, runId, step.id, (line) => observer.logLine(step.id, line));
        log.logger.warn(`resume: not reusing the earlier result of this step: ${why}; running it again`);
        await log.flush();
      }
      running.add(step.id);
      return { ended: scheduler.add(step.id, step.upstream) };
    };
    if (snapshot.pipeline.dynamic) {
      snapshot = await runDynamicPipeline({ ...options, snapshot }, scheduler, dynamicSteps, records, schedule);
    } else {
      for (const id of snapshot.order) await schedule(snapshot.steps[id]!);
    }
  } catch (error) {
    failure = { error };
  } finally {
    scheduler.close();
  }
  const states = await scheduler.done();
  // Every node has a record by now (launches that reject get one above); this is the last guard.
  const steps = [...states].map(([id, state]) => records.get(id) ?? missingRecord(runId, stepById(id), state));
  run.status = finalStatus(states, options.signal?.aborted ?? false, failure);
  run.finishedAt = new Date().toISOString();
  if (failure) run.error = toErrorRecord(failure.error);
  if (snapshot.pipeline.dynamic) await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
  await writeRunRecord(store, run);
  await observer.runFinished(run, steps);
  return { run, steps, snapshot };
}

/** The record of a step that ended without one (never expected): failed, saying so, rather than dropped. */
function missingRecord(runId: string, step: SnapshotStep, state: NodeState): StepRecord {
  return {
    runId,
    stepId: step.id,
    name: step.name,
    status: state === "succeeded" || state === "cached" ? "failed" : state,
    attempts: 0,
    outputs: {},
    metadata: {},
    error: { message: `step "${step.id}" ended ${state} without a step record`, hint: "This is a bug in the orchestrator that ran the step; please report it." },
  };
}

/**
 * Why a resumed run cannot keep a step it completed before: an upstream step runs again (so this
 * one gets its inputs anew, and caching reuses its outputs if they are unchanged), or one of its
 * artifacts is missing or damaged. Undefined when it can be kept.
 */
async function whyNotReusable(store: ArtifactStore, record: StepRecord, rerunUpstream: string[]): Promise<string | undefined> {
  if (rerunUpstream.length > 0) return `upstream step ${rerunUpstream.map((id) => `"${id}"`).join(", ")} runs again`;
  for (const [name, output] of Object.entries(record.outputs)) {
    const check = await checkArtifact(store, output);
    if (!check.ok) return `output "${name}": ${check.reason}`;
  }
  return undefined;
}

function finalStatus(states: Map<string, NodeState>, aborted: boolean, failure: unknown): RunStatus {
  if (aborted) return "stopped";
  if (failure) return "failed";
  for (const state of states.values()) if (state === "failed" || state === "skipped" || state === "stopped") return "failed";
  return "succeeded";
}

/**
 * Runs a dynamic pipeline's function now. Each step call is scheduled at once; `handle.load()` waits
 * for that step and loads its output. Discovered steps are added to the snapshot as they appear.
 */
async function runDynamicPipeline(
  options: ExecuteRunOptions,
  scheduler: ReturnType<typeof createScheduler>,
  dynamicSteps: Map<string, { step: SnapshotStep; definition: StepDefinition }>,
  records: Map<string, StepRecord>,
  schedule: (step: SnapshotStep) => Promise<{ ended: Promise<NodeState> }>,
): Promise<Snapshot> {
  const pipeline = options.pipeline;
  if (!pipeline) {
    throw new OrchError("E_SOURCE_LOAD", {
      message: `Pipeline "${options.snapshot.pipeline.name}" is dynamic, so its function must be loaded to run it.`,
      hint: "Run it through pipeline.run() or orch-entrypoint orchestrate, which load the pipeline's module.",
    });
  }
  const projectRoot = options.projectRoot ?? findProjectRoot();
  // The function rediscovers every step as it runs (a resumed run too), so start from no steps.
  const snapshot: Snapshot = { ...options.snapshot, steps: {}, order: [] };
  // Each step's final state, in call order; scheduling awaits the snapshot write for external launchers.
  const completion = new Map<string, Promise<NodeState>>();
  let inOrder: Promise<unknown> = Promise.resolve();
  const builder = new PipelineBuilder(pipeline.name, pipeline.settings, {
    onInvoke(invocation: Invocation) {
      const step = snapshotStep(invocation, projectRoot);
      dynamicSteps.set(step.id, { step, definition: invocation.definition });
      snapshot.steps[step.id] = step;
      snapshot.order.push(step.id);
      // A step launched elsewhere reads its spec from snapshot.json, so that is written first. Writes
      // and scheduling are chained, so steps reach the scheduler in call order (upstream first).
      const text = serializeSnapshot(snapshot);
      const scheduled = inOrder.then(async () => {
        if (options.launch) await options.store.write(journalKeys.snapshot(options.runId), text);
        return schedule(step);
      });
      inOrder = scheduled;
      completion.set(step.id, scheduled.then((s) => s.ended));
    },
    async loadOutput(stepId, output) {
      await completion.get(stepId);
      const record = records.get(stepId) ?? (await readStepRecord(options.store, options.runId, stepId));
      const artifact = record?.outputs[output];
      if (!record || !artifact) {
        throw new OrchError("E_STEP_FAILED", {
          step: stepId,
          message: `Step "${stepId}" did not produce output "${output}" (status: ${record?.status ?? "unknown"}), so the dynamic pipeline cannot continue.`,
          hint: `See the step's log: orch run logs ${options.runId} --step ${stepId}`,
        });
      }
      return loadOutput(options.store, artifact);
    },
  });
  await builder.run(() => pipeline.fn(snapshot.parameters, { runId: options.runId, signal: options.signal ?? new AbortController().signal }));
  // Steps called but never awaited still belong to the run; the scheduler waits for them after close().
  await Promise.all(completion.values());
  return snapshot;
}
