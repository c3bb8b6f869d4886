import { setTimeout as sleep } from "node:timers/promises";
import { OrchError, describeThrown, toErrorRecord } from "../errors.js";
import { checkArtifact, loadOutput, saveArtifact } from "../artifacts/artifact-io.js";
import { pickMaterializer } from "../artifacts/materializers.js";
import type { StepDefinition } from "../dsl/step.js";
import { retryDelayMs } from "../settings/index.js";
import type { Snapshot, SnapshotStep } from "../snapshot/snapshot.js";
import { readJson, writeJson, type ArtifactStore } from "../store/artifact-store.js";
import { journalKeys, readStepRecord, writeStepRecord, type CacheEntry, type OutputRecord, type StepRecord } from "../store/journal.js";
import { computeCacheKey } from "./cache-key.js";
import { runWithStepContext, type StepContext } from "./step-context.js";
import { createStepLog } from "./step-log.js";

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
  const startedAt = new Date();
  const record: StepRecord = { runId, stepId: step.id, name: step.name, status: "running", attempts: 0, startedAt: startedAt.toISOString(), outputs: {}, metadata: {} };
  const save = async () => {
    await writeStepRecord(store, record);
    options.onRecord?.({ ...record });
  };
  // `failure` wraps the error, so `throw undefined` is still recorded as a failure with a message.
  const finish = async (status: StepRecord["status"], failure?: { error: unknown }) => {
    record.status = status;
    record.finishedAt = new Date().toISOString();
    record.durationMs = Date.now() - startedAt.getTime();
    if (failure) record.error = toErrorRecord(failure.error);
    await log.flush();
    await save();
    return record;
  };

  await save();
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
        log.logger.info(`cache hit: reusing the outputs of run ${hit.runId} (step ${hit.stepId})`);
        return await finish("cached");
      }
    }

    const args = await Promise.all(
      step.inputs.map((binding, index) =>
        binding.kind === "artifact"
          ? loadOutput(store, inputArtifacts[index]!)
          : binding.kind === "param"
            ? binding.value
            : undefined,
      ),
    );

    const { retry, timeout } = step.settings;
    let lastError: unknown;
    for (let attempt = 1; attempt <= retry.maxRetries + 1; attempt++) {
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
        const value = await runAttempt(options.definition, args, context, timeout, attemptController);
        record.outputs = await saveOutputs(store, step, value, runId);
        if (step.settings.cache) await writeCacheEntry(store, cacheKey, record);
        await runHook("onSuccess", context, () => options.definition.onSuccess?.(context!, value), log.logger);
        return await finish("succeeded");
      } catch (error) {
        lastError = error;
        if (signal.aborted) return await finish("stopped", { error });
        if (error instanceof OrchError && error.code === "E_MATERIALIZER") break; // retrying cannot fix this
        log.logger.error(`attempt ${attempt} failed: ${describeThrown(error)}`);
        if (attempt <= retry.maxRetries) {
          const delay = retryDelayMs(retry, attempt);
          log.logger.info(`retrying in ${delay / 1000}s (retry ${attempt} of ${retry.maxRetries})`);
          await sleep(delay, undefined, { signal }).catch(() => {});
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
    if (context) await runHook("onFailure", context, () => options.definition.onFailure?.(context!, lastError), log.logger);
    return await finish("failed", { error: lastError });
  } catch (error) {
    // Input loading or the store itself failed: still leave a finished record, never a "running" one.
    log.logger.error(describeThrown(error));
    return await finish(signal.aborted ? "stopped" : "failed", { error });
  }
}

async function runAttempt(definition: StepDefinition, args: unknown[], context: StepContext, timeout: number | undefined, controller: AbortController): Promise<unknown> {
  const work = runWithStepContext(context, async () => definition.fn(...args));
  if (timeout === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new OrchError("E_STEP_TIMEOUT", {
        step: context.stepId,
        message: `Step "${context.stepId}" attempt ${context.attempt} timed out after ${timeout}s.`,
        hint: "Raise the step's `timeout` setting or make the step faster.",
      });
      controller.abort(error); // tell the step to stop its work
      reject(error);
    }, timeout * 1000);
  });
  work.catch(() => {}); // a late failure after the timeout is not an unhandled rejection
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
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
  const entry = await readJson<CacheEntry>(store, journalKeys.cache(cacheKey));
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

async function writeCacheEntry(store: ArtifactStore, cacheKey: string, record: StepRecord): Promise<void> {
  const entry: CacheEntry = { cacheKey, runId: record.runId, stepId: record.stepId, outputs: record.outputs, createdAt: new Date().toISOString() };
  await writeJson(store, journalKeys.cache(cacheKey), entry);
}

async function saveOutputs(store: ArtifactStore, step: SnapshotStep, value: unknown, runId: string): Promise<Record<string, OutputRecord>> {
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
async function runHook(name: string, context: StepContext, hook: () => unknown, logger: { error(m: string): void }): Promise<void> {
  try {
    await runWithStepContext(context, hook);
  } catch (error) {
    logger.error(`${name} hook failed: ${describeThrown(error)}`);
  }
}
