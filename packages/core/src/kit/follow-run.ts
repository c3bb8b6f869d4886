import { setTimeout as sleep } from "node:timers/promises";
import { OrchError } from "../errors.js";
import { displayFlavor } from "../names.js";
import { combineObservers, type RunObserver } from "../run/observer.js";
import type { RunOutcome } from "../run/execute-run.js";
import { parseSnapshot, type Snapshot } from "../snapshot/snapshot.js";
import { readJson, type ArtifactStore } from "../store/artifact-store.js";
import { MAX_TORN_READS, isTransientReadError } from "./transient-read.js";
import { journalKeys, readRunRecord, readStepRecords, writeRunRecord, type RunRecord, type StepRecord } from "../store/journal.js";


/** How the backend says a run it executed is over, whatever the journal says. */
export interface BackendEnd {
  /** The backend ended it because it was stopped (the orchestrator Job was deleted). */
  stopped?: boolean;
  /** Why it ended without finishing the journal: "the orchestrator pod was OOM-killed". */
  reason?: string;
}

export interface FollowRunOptions {
  /** Stops following: followRun rejects with the signal's reason. The run itself goes on. */
  signal?: AbortSignal;
  /** The submitted snapshot, for a run whose journal has none yet. */
  snapshot?: Snapshot;
  /**
   * Resolves when the backend has ended the run (its driving process, Job or pipeline run ended).
   * Without it only the journal ends the follow. When the journal is still unfinished after the
   * backend ended, the run is recorded `failed` (or `stopped`) with the backend's reason.
   */
  backendEnded?: Promise<BackendEnd>;
  /** The flavor that executes the run, for a run record followRun has to write (default: the journal's). */
  flavor?: string;
  /** How often the journal is read (default 500 ms). */
  pollMs?: number;
}

/**
 * Follows a run that executes elsewhere through its journal: `runStarted` when run.json appears,
 * `stepUpdated` for every change of a step record, `runFinished` once, and the final
 * {@link RunOutcome}. The journal is the only source: whatever the backend, the process driving the
 * run writes run.json and each step writes its record. An observer that throws does not end the follow.
 */
export async function followRun(store: ArtifactStore, runId: string, observer: RunObserver | undefined, options: FollowRunOptions = {}): Promise<RunOutcome> {
  const notify = combineObservers([observer]);
  const pollMs = options.pollMs ?? 500;
  const seen = new Map<string, string>();
  let started = false;
  let ended: BackendEnd | undefined;
  void options.backendEnded?.then(
    (value) => (ended = value),
    (error: unknown) => (ended = { reason: `following the backend failed: ${(error as Error)?.message ?? String(error)}` }),
  );

  const poll = async (): Promise<{ run?: RunRecord; steps: StepRecord[] }> => {
    const run = await readRunRecord(store, runId);
    if (run && !started) {
      started = true;
      await notify.runStarted(run, (await journalSnapshot(store, runId)) ?? options.snapshot ?? missingSnapshot(store, runId));
    }
    const steps = await readStepRecords(store, runId);
    for (const record of steps) {
      const key = JSON.stringify([record.status, record.attempts, record.finishedAt]);
      if (seen.get(record.stepId) === key) continue;
      seen.set(record.stepId, key);
      await notify.stepUpdated(record);
    }
    return { ...(run ? { run } : {}), steps };
  };

  let tornReads = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const backendDone = ended;
    let polled: Awaited<ReturnType<typeof poll>>;
    try {
      polled = await poll();
      tornReads = 0;
    } catch (error) {
      // A record read while its writer replaces it (a store whose puts are not atomic for readers, such
      // as a local S3 stand-in) is cut short, and a remote store can drop one request; the next poll
      // reads again. A record that stays broken, or a store that stays unreachable, is an error.
      if (!isTransientReadError(error) || ++tornReads > MAX_TORN_READS) throw error;
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
      continue;
    }
    let { run, steps } = polled;
    if (!run || run.status === "running") {
      if (!backendDone) {
        await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
        continue;
      }
      // The backend ended and nothing finished the journal: the driving process died (crash loop, deleted Job).
      run = await recordBackendEnd(store, runId, run, backendDone, options);
      if (!started) {
        started = true;
        await notify.runStarted(run, (await journalSnapshot(store, runId)) ?? options.snapshot ?? missingSnapshot(store, runId));
      }
      steps = await readStepRecords(store, runId);
    }
    const snapshot = (await journalSnapshot(store, runId)) ?? options.snapshot ?? missingSnapshot(store, runId);
    await notify.runFinished(run, steps);
    return { run, steps, snapshot };
  }
}

async function recordBackendEnd(store: ArtifactStore, runId: string, current: RunRecord | undefined, end: BackendEnd, options: FollowRunOptions): Promise<RunRecord> {
  const snapshot = (await journalSnapshot(store, runId)) ?? options.snapshot ?? missingSnapshot(store, runId);
  const base: RunRecord = current ?? {
    runId,
    pipeline: snapshot.pipeline.name,
    pipelineHash: snapshot.pipeline.hash,
    status: "running",
    startedAt: new Date().toISOString(),
    parameters: snapshot.parameters,
  };
  const reason = end.reason ?? (end.stopped ? "the run was stopped" : "the process driving the run ended without finishing it");
  const run: RunRecord = {
    ...base,
    status: end.stopped ? "stopped" : "failed",
    finishedAt: new Date().toISOString(),
    ...(options.flavor ? { orchestrator: displayFlavor(options.flavor) } : {}),
    error: { code: end.stopped ? "E_CANCELLED" : "E_STEP_FAILED", message: `Run ${runId}: ${reason}.` },
  };
  await writeRunRecord(store, run);
  return run;
}

async function journalSnapshot(store: ArtifactStore, runId: string): Promise<Snapshot | undefined> {
  const raw = await readJson(store, journalKeys.snapshot(runId));
  return raw === undefined ? undefined : parseSnapshot(raw, `run ${runId}`);
}

function missingSnapshot(store: ArtifactStore, runId: string): never {
  throw new OrchError("E_RUN_NOT_FOUND", {
    message: `Run ${runId} has no snapshot in the artifact store at ${store.uri}.`,
    hint: "Store the snapshot at runs/<runId>/snapshot.json before starting the run, or pass it to followRun as `snapshot`.",
  });
}
