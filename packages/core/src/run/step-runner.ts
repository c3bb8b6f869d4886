import { setTimeout as sleep } from "node:timers/promises";
import { OrchError, describeThrown, toErrorRecord } from "../errors.js";
import { checkArtifact, loadOutput, saveArtifact } from "../artifacts/artifact-io.js";
import { pickMaterializer } from "../artifacts/materializers.js";
import type { StepDefinition } from "../dsl/step.js";
import { retryDelayMs } from "../settings/index.js";
import type { Snapshot, SnapshotStep } from "../snapshot/snapshot.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { readCacheEntry, readStepRecord, writeCacheEntry, writeStepRecord, type CacheEntry, type OutputRecord, type StepRecord } from "../store/journal.js";
import { findProjectRoot } from "../project.js";
import { computeCacheKey } from "./cache-key.js";
import { runWithStepContext, type StepContext } from "./step-context.js";
import { createStepLog } from "./step-log.js";
import { runWithOutputCapture } from "./output-capture.js";
import { isolationMode, runIsolatedAttempt, StepIsolationUnavailable, type AttemptInput } from "./isolated-attempt.js";

export interface RunStepOptions {
  snapshot: Snapshot;
  /** The step to run; for dynamic pipelines it may not be in `snapshot.steps` yet. */
  step: SnapshotStep;
  runId: string;
  store: ArtifactStore;
  definition: StepDefinition;
  signal?: AbortSignal;
  /** Records of finished upstream steps; read from the store when not given (child processes). */
  upstreamRecord?: (stepId: string) => Promise<StepRecord | undefined>;
  /** Sees every record the runner writes (live views, the metadata index). */
  onRecord?: (record: StepRecord) => void;
  onLogLine?: (line: string) => void;
  /** Folder the snapshot's module paths are relative to (for loading a step in a worker thread). */
  projectRoot?: string;
  /**
   * Put what the step prints (console.log …) in its log file. Default true; orch-entrypoint turns it
   * off because its launcher collects the whole process's output (container logs) itself.
   */
  captureOutput?: boolean;
  /**
   * Write the `running` record to the journal when the step starts. Default true (a step in its own
   * process or container: its launcher learns from it that the step started). The in-process path
   * turns it off: observers still see `running`, and the journal gets one record write per step — a
   * step without a final record is run again by a resume either way.
   */
  journalRunning?: boolean;
  /**
   * Run only this attempt (1 = the first): the backend retries the step in a new process (Airflow
   * retries, KFP retryPolicy), so this process must not run the retry policy's loop as well.
   */
  singleAttempt?: number;
}

/**
 * Runs one step where it stands (in-process or inside a container): loads inputs, reuses cached
 * outputs when their artifacts still exist, otherwise runs the function with retries and a timeout,
 * saves outputs through materializers and writes the step record. Never throws for a step failure:
 * the returned record says `failed` and why.
 */
export async function runStep(options: RunStepOptions): Promise<StepRecord> {
  const { step, runId, store, snapshot } = options;
  const signal = options.signal ?? new AbortController().signal;
  const log = createStepLog(store, runId, step.id, options.onLogLine);
  const captureOutput = options.captureOutput ?? true;
  const startedAt = new Date();
  const record: StepRecord = { runId, stepId: step.id, name: step.name, status: "running", attempts: 0, startedAt: startedAt.toISOString(), outputs: {}, metadata: {} };
  const save = async (journal = true) => {
    if (journal) await writeStepRecord(store, record);
    options.onRecord?.({ ...record });
  };
  // `failure` wraps the error, so `throw undefined` is still recorded as a failure with a message.
  const finish = async (status: StepRecord["status"], failure?: { error: unknown }) => {
    record.status = status;
    record.finishedAt = new Date().toISOString();
    record.durationMs = Date.now() - startedAt.getTime();
    if (failure) record.error = toErrorRecord(failure.error);
    await log.close();
    await save();
    return record;
  };

  await save(options.journalRunning ?? true);
  let context: StepContext | undefined;
  try {
    const upstreamRecord = options.upstreamRecord ?? ((id: string) => readStepRecord(store, runId, id));
    const inputArtifacts = await resolveInputArtifacts(step, upstreamRecord);
    const cacheKey = computeCacheKey(step, inputArtifacts);
    record.cacheKey = cacheKey;

    if (step.settings.cache) {
      const hit = await findCachedOutputs(store, cacheKey, log.logger);
      if (hit) {
        record.outputs = hit.outputs;
        record.cachedFrom = hit.runId;
        // Shown live, but no log file: the record says it (`cached`, `cachedFrom`), and a file per
        // cached step was the largest cost of a fully cached re-run.
        options.onLogLine?.(`${new Date().toISOString()} INFO  cache hit: reusing the outputs of run ${hit.runId} (step ${hit.stepId})`);
        return await finish("cached");
      }
    }

    const { retry, timeout } = step.settings;
    // Steps with a timeout run each attempt in a worker thread that can be terminated (isolated-attempt.ts).
    const mode = isolationMode();
    let isolated = mode === "all" || (mode === "timeout" && timeout !== undefined);
    const loadArgs = () =>
      Promise.all(
        step.inputs.map((binding, index) =>
          binding.kind === "artifact"
            ? loadOutput(store, inputArtifacts[index]!)
            : binding.kind === "param"
              ? binding.value
              : undefined,
        ),
      );
    // An isolated attempt loads its inputs in its worker.
    let args = isolated ? undefined : await loadArgs();

    let lastError: unknown;
    const firstAttempt = options.singleAttempt ?? 1;
    const lastAttempt = options.singleAttempt ?? retry.maxRetries + 1;
    for (let attempt = firstAttempt; attempt <= lastAttempt; attempt++) {
      if (signal.aborted) return await finish("stopped", { error: new OrchError("E_CANCELLED", { message: "The run was stopped." }) });
      record.attempts = attempt;
      if (attempt > 1) await save();
      const attemptController = new AbortController();
      const onAbort = () => attemptController.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      context = {
        runId,
        stepId: step.id,
        stepName: step.name,
        pipelineName: snapshot.pipeline.name,
        attempt,
        signal: attemptController.signal,
        logger: log.logger,
        addMetadata: (metadata) => Object.assign(record.metadata, metadata),
      };
      try {
        if (isolated) {
          try {
            const inputs = attemptInputs(step, inputArtifacts);
            const request = { projectRoot: options.projectRoot ?? findProjectRoot(), runId, pipelineName: snapshot.pipeline.name, step, attempt, inputs, store: store.describe() };
            const { outputs, started } = runIsolatedAttempt(request, { signal: attemptController.signal, log, captureOutput, onMetadata: (metadata) => Object.assign(record.metadata, metadata) });
            record.outputs = await runAttempt(outputs, context, timeout, attemptController, started);
          } catch (error) {
            if (!(error instanceof StepIsolationUnavailable)) throw error;
            // Not loadable in a worker (a step defined in a test file, a REPL …): run it here as before.
            isolated = false;
            log.logger.warn(`running in-process, where a timeout cannot interrupt synchronous work: the step could not be loaded in a worker thread (${error.message.split("\n")[0]})`);
          }
        }
        if (!isolated) {
          const attemptContext = context;
          const values = (args ??= await loadArgs());
          const call = () => runWithStepContext(attemptContext, async () => options.definition.fn(...values));
          const work = captureOutput ? runWithOutputCapture(log.writeOutput, call) : call();
          const value = await runAttempt(work, context, timeout, attemptController);
          record.outputs = await saveOutputs(store, step, value, runId);
          await runStepHook("onSuccess", attemptContext, () => options.definition.onSuccess?.(attemptContext, value), log.logger);
        }
        if (step.settings.cache) await writeCacheEntry(store, cacheEntryOf(cacheKey, record));
        return await finish("succeeded");
      } catch (error) {
        lastError = error;
        if (signal.aborted) return await finish("stopped", { error });
        if (error instanceof OrchError && error.code === "E_MATERIALIZER") break; // retrying cannot fix this
        log.logger.error(`attempt ${attempt} failed: ${describeThrown(error)}`);
        if (options.singleAttempt !== undefined) {
          if (attempt <= retry.maxRetries) log.logger.info(`the orchestrator retries the step (retry ${attempt} of ${retry.maxRetries})`);
        } else if (attempt <= retry.maxRetries) {
          const delay = retryDelayMs(retry, attempt);
          log.logger.info(`retrying in ${delay / 1000}s (retry ${attempt} of ${retry.maxRetries})`);
          await sleep(delay, undefined, { signal }).catch(() => {});
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
    if (context) await runStepHook("onFailure", context, () => options.definition.onFailure?.(context!, lastError), log.logger);
    return await finish("failed", { error: lastError });
  } catch (error) {
    // Input loading or the store itself failed: still leave a finished record, never a "running" one.
    log.logger.error(describeThrown(error));
    return await finish(signal.aborted ? "stopped" : "failed", { error });
  }
}

/**
 * Waits for an attempt's work, failing it `timeout` seconds after the step function started (a
 * worker's start-up does not count): the attempt's signal aborts with the timeout error (an isolated
 * attempt's worker is then terminated; an in-process one is abandoned).
 */
async function runAttempt<T>(work: Promise<T>, context: StepContext, timeout: number | undefined, controller: AbortController, started: Promise<void> = Promise.resolve()): Promise<T> {
  if (timeout === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const expired = new Promise<never>((_, reject) => {
    void started.then(() => {
      if (ended) return;
      timer = setTimeout(() => {
        const error = new OrchError("E_STEP_TIMEOUT", {
          step: context.stepId,
          message: `Step "${context.stepId}" attempt ${context.attempt} timed out after ${timeout}s.`,
          hint: "Raise the step's `timeout` setting or make the step faster.",
        });
        controller.abort(error); // tell the step to stop its work (an isolated one is terminated)
        reject(error);
      }, timeout * 1000);
    });
  });
  work.catch(() => {}); // a late failure after the timeout is not an unhandled rejection
  try {
    return await Promise.race([work, expired]);
  } finally {
    ended = true;
    clearTimeout(timer);
  }
}

/** What an isolated attempt's worker needs to load the step's arguments itself. */
function attemptInputs(step: SnapshotStep, inputArtifacts: (OutputRecord | undefined)[]): AttemptInput[] {
  return step.inputs.map((binding, index) =>
    binding.kind === "artifact"
      ? { kind: "artifact", ...inputArtifacts[index]! }
      : binding.kind === "param"
        ? { kind: "param", value: binding.value }
        : { kind: "none" },
  );
}

async function resolveInputArtifacts(step: SnapshotStep, upstreamRecord: (id: string) => Promise<StepRecord | undefined>): Promise<(OutputRecord | undefined)[]> {
  return Promise.all(
    step.inputs.map(async (binding) => {
      if (binding.kind !== "artifact") return undefined;
      const record = await upstreamRecord(binding.step);
      const output = record?.outputs[binding.output];
      if (!output) {
        throw new OrchError("E_ARTIFACT_NOT_FOUND", {
          step: step.id,
          message: `Step "${step.id}" needs output "${binding.output}" of step "${binding.step}", which has not been produced in this run.`,
          hint: "Run the upstream step first (orchestrators start a step only after its upstream steps succeeded).",
        });
      }
      return output;
    }),
  );
}

async function findCachedOutputs(store: ArtifactStore, cacheKey: string, logger: { warn(m: string): void }): Promise<CacheEntry | undefined> {
  let entry: CacheEntry | undefined;
  try {
    entry = await readCacheEntry(store, cacheKey);
  } catch (error) {
    // A damaged entry is a miss: the step runs again and writes a good one over it.
    logger.warn(`cache entry not reused: ${(error as Error).message.split("\n")[0]}; running the step again`);
    return undefined;
  }
  if (!entry) return undefined;
  // A cache entry whose artifacts were deleted or damaged is a miss: the step runs again and refreshes it.
  const checks = await Promise.all(Object.values(entry.outputs).map((o) => checkArtifact(store, o)));
  const failed = checks.find((c) => !c.ok);
  if (failed && !failed.ok) {
    logger.warn(`cache entry of run ${entry.runId} not reused: ${failed.reason}; running the step again`);
    return undefined;
  }
  return entry;
}

function cacheEntryOf(cacheKey: string, record: StepRecord): CacheEntry {
  return { cacheKey, runId: record.runId, stepId: record.stepId, outputs: record.outputs, createdAt: new Date().toISOString() };
}

export async function saveOutputs(store: ArtifactStore, step: SnapshotStep, value: unknown, runId: string): Promise<Record<string, OutputRecord>> {
  const values = outputValues(step, value);
  // Check every output can be saved before writing any, so a bad output leaves no stray artifacts.
  const picked = values.map(([name, output]) => pickMaterializer(output, { stepId: step.id, output: name }));
  const outputs: Record<string, OutputRecord> = {};
  for (const [index, [name, output]] of values.entries()) outputs[name] = await saveArtifact(store, output, { runId, stepId: step.id, output: name }, picked[index]);
  return outputs;
}

/** The step's return value split into its declared outputs. */
function outputValues(step: SnapshotStep, value: unknown): [string, unknown][] {
  if (step.outputs.length === 1 && step.outputs[0] === "output") return [["output", value]];
  const expected = step.outputs.map((o) => `"${o}"`).join(", ");
  if (typeof value !== "object" || value === null) {
    throw new OrchError("E_MATERIALIZER", {
      step: step.id,
      message: `Step "${step.id}" declares outputs ${step.outputs.join(", ")} but returned ${value === null ? "null" : typeof value}.`,
      hint: `Return an object with the keys ${expected}.`,
    });
  }
  const missing = step.outputs.find((name) => !(name in value));
  if (missing) {
    throw new OrchError("E_MATERIALIZER", { step: step.id, message: `Step "${step.id}" did not return its declared output "${missing}".`, hint: `Return an object with the keys ${expected}.` });
  }
  return step.outputs.map((name) => [name, (value as Record<string, unknown>)[name]]);
}

/** Runs a hook inside the step's context, so `getStepContext()` works there as in the step. */
export async function runStepHook(name: string, context: StepContext, hook: () => unknown, logger: { error(m: string): void }): Promise<void> {
  try {
    await runWithStepContext(context, hook);
  } catch (error) {
    logger.error(`${name} hook failed: ${describeThrown(error)}`);
  }
}
