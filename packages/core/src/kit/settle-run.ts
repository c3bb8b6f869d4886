import { setTimeout as sleep } from "node:timers/promises";
import { requestRunStop } from "../run/stop-request.js";
import { recordStopped } from "../run/process-run-controls.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { readRunRecord, type RunRecord } from "../store/journal.js";
import { MAX_TORN_READS, isTransientReadError } from "./transient-read.js";

export interface SettleRunOptions {
  /** Signals the backend (delete the run's Jobs, stop its containers, cancel the pipeline run). */
  stop: () => Promise<unknown>;
  /** How long the run's driving process gets to record the stop itself after the signal (default 15 s). */
  waitSeconds?: number;
  /** How often the journal is read meanwhile (default 500 ms). */
  pollMs?: number;
}

/**
 * The stop protocol of a run that executes elsewhere: (1) record the stop request in the journal, so
 * the driving process treats the SIGTERM it is about to get as a stop and not as a shutdown; (2) signal
 * the backend; (3) wait for the driving process to record the run's end; (4) if it never does (it was
 * already gone, or killed before it could write), record the run and its unfinished steps `stopped`.
 * A run that has already ended is left alone. Resolves with the run's final record (undefined when
 * the run has no record at all).
 */
export async function settleRun(store: ArtifactStore, runId: string, options: SettleRunOptions): Promise<RunRecord | undefined> {
  const pollMs = options.pollMs ?? 500;
  const readRun = () => readRunRecordPatiently(store, runId, pollMs);
  const current = await readRun();
  if (current && current.status !== "running") return current;
  await requestRunStop(store, runId);
  await options.stop();
  const deadline = Date.now() + (options.waitSeconds ?? 15) * 1000;
  for (;;) {
    const run = await readRun();
    if (run && run.status !== "running") return run;
    if (Date.now() >= deadline) break;
    await sleep(pollMs);
  }
  await recordStopped(store, runId, `Run ${runId} was stopped; the process driving it did not record the end itself.`);
  return readRun();
}

/** The run's record, read again when a read was cut short by a concurrent write or dropped by the store (as followRun does). */
async function readRunRecordPatiently(store: ArtifactStore, runId: string, pollMs: number): Promise<RunRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readRunRecord(store, runId);
    } catch (error) {
      if (!isTransientReadError(error) || attempt >= MAX_TORN_READS) throw error;
      await sleep(pollMs);
    }
  }
}
