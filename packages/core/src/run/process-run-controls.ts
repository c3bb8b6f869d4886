import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { OrchError } from "../errors.js";
import type { Orchestrator } from "../plugins/plugin.js";
import { readJson, type ArtifactStore } from "../store/artifact-store.js";
import { FINISHED_STEP_STATUSES, journalKeys, readRunRecord, readStepRecord, readStepRecords, writeRunRecord, writeStepRecord, type RunRecord, type StepRecord } from "../store/journal.js";
import { isProcessAlive } from "./process-identity.js";

/** How often `logs(…, { follow: true })` looks at the log again. */
const FOLLOW_POLL_MS = 500;
/** Seconds the driving process gets to end a run after SIGINT before `stop` kills it. */
export const DEFAULT_STOP_GRACE_SECONDS = 10;

/** Whether the process recorded as driving a `running` run (on this host) is gone: dead pid, or a reused one. */
export function runOwnerGone(run: Pick<RunRecord, "status" | "pid" | "host" | "pidStartTime">): boolean {
  if (run.status !== "running" || !run.pid) return false;
  if (run.host && run.host !== hostname()) return false; // cannot tell from here
  return !isProcessAlive(run.pid, run.pidStartTime);
}

/**
 * `status`, `stop` and `logs` for flavors whose runs are driven by a process on this machine (local,
 * subprocess, …): status and logs come from the journal; stop asks the driving process (pid in
 * run.json) to stop, as Ctrl-C would, so it records the run as `stopped` itself. The pid is only
 * signalled when it is still the process that started the run (same start time): a pid reused by
 * another process is never signalled, and a run whose process is gone is recorded `stopped` at once.
 * A process that does not react within the grace period — its main thread busy in a step's
 * synchronous code cannot run a signal handler — is killed (SIGKILL), and the run and its unfinished
 * steps are recorded `stopped` here.
 */
export function processRunControls(store: ArtifactStore): Required<Pick<Orchestrator, "status" | "stop" | "logs">> {
  return {
    async status(runId) {
      const run = await readRunRecord(store, runId);
      // A run whose process died is over; `failed` is what the journal says once reconciled.
      return run && runOwnerGone(run) ? "failed" : run?.status;
    },
    async stop(runId, options = {}) {
      const run = await readRunRecord(store, runId);
      if (!run || run.status !== "running" || !run.pid) return;
      if (run.host && run.host !== hostname()) {
        throw new OrchError("E_USAGE", { message: `Run ${runId} is driven by a process on host ${run.host}.`, hint: `Stop it on ${run.host}.` });
      }
      const pid = run.pid;
      const owner = { ...run, pid };
      if (runOwnerGone(owner) || !signal(pid, "SIGINT")) {
        await recordStopped(store, runId, `stopped: the process that ran it (pid ${pid}) had already ended`);
        return;
      }
      if (pid === process.pid) return; // a run of this very process: its handler runs once we yield; never kill ourselves
      const graceSeconds = options.graceSeconds ?? DEFAULT_STOP_GRACE_SECONDS;
      const stillRunning = async () => {
        const now = await readRunRecord(store, runId);
        return !runOwnerGone(owner) && now?.status === "running" && now.pid === pid;
      };
      const deadline = Date.now() + graceSeconds * 1000;
      while (Date.now() < deadline) {
        await sleep(100);
        if (!(await stillRunning())) return;
      }
      if (!(await stillRunning())) return;
      signal(pid, "SIGKILL");
      for (let i = 0; i < 50 && !runOwnerGone(owner); i++) await sleep(100);
      await recordStopped(store, runId, `The run was stopped: its process (pid ${pid}) did not end within ${graceSeconds}s of SIGINT (busy in a step's synchronous code?) and was killed.`);
    },
    async *logs(runId, stepId, options = {}) {
      // With follow: poll the log object (remote stores rewrite it while the step runs) and print new
      // complete lines until the step's record or the run says it ended. The step runner flushes the
      // log before it writes the final record, so the read after that holds the whole log.
      let offset = 0;
      for (;;) {
        const ended = !options.follow || (await followEnded(store, runId, stepId));
        const data = await store.read(journalKeys.log(runId, stepId));
        if (data && data.length > offset) {
          const fresh = Buffer.from(data).subarray(offset);
          const complete = ended ? fresh.length : fresh.lastIndexOf(0x0a) + 1;
          offset += complete;
          yield* fresh.subarray(0, complete).toString("utf8").split("\n").filter(Boolean);
        }
        if (ended) return;
        await sleep(FOLLOW_POLL_MS);
      }
    },
  };
}

async function followEnded(store: ArtifactStore, runId: string, stepId: string): Promise<boolean> {
  const step = await readStepRecord(store, runId, stepId);
  if (step && FINISHED_STEP_STATUSES.has(step.status)) return true;
  const run = await readRunRecord(store, runId);
  if (run === undefined || run.status !== "running") return run !== undefined;
  // A run whose driving process on this host is gone (kill -9) will not write more.
  return runOwnerGone(run);
}

/** Ends the journal of a run whose process is gone or was killed: the run and every unfinished step `stopped` (also the plugin kit's settleRun). */
export async function recordStopped(store: ArtifactStore, runId: string, message: string): Promise<void> {
  const finishedAt = new Date().toISOString();
  const error = { code: "E_CANCELLED", message };
  const records = await readStepRecords(store, runId);
  const byId = new Map(records.map((r) => [r.stepId, r]));
  for (const record of records) {
    if (record.status === "running" || record.status === "pending") await writeStepRecord(store, { ...record, status: "stopped", finishedAt, error });
  }
  // Steps that never started end as the scheduler ends them when a run is stopped.
  const snapshot = await readJson<{ order?: string[]; steps?: Record<string, { name: string }> }>(store, journalKeys.snapshot(runId));
  for (const stepId of snapshot?.order ?? []) {
    if (byId.has(stepId)) continue;
    const stopped: StepRecord = { runId, stepId, name: snapshot?.steps?.[stepId]?.name ?? stepId, status: "stopped", attempts: 0, outputs: {}, metadata: {}, error: { message: "not run: the run was stopped" } };
    await writeStepRecord(store, stopped);
  }
  const run = await readRunRecord(store, runId);
  if (run?.status === "running") await writeRunRecord(store, { ...run, status: "stopped", finishedAt, error });
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}
