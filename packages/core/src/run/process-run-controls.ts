import { hostname } from "node:os";
import { OrchError } from "../errors.js";
import type { Orchestrator } from "../plugins/plugin.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { journalKeys, readRunRecord, readStepRecords, writeRunRecord, writeStepRecord, type RunRecord } from "../store/journal.js";
import { isProcessAlive } from "./process-identity.js";

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
 */
export function processRunControls(store: ArtifactStore): Required<Pick<Orchestrator, "status" | "stop" | "logs">> {
  return {
    async status(runId) {
      const run = await readRunRecord(store, runId);
      // A run whose process died is over; `failed` is what the journal says once reconciled.
      return run && runOwnerGone(run) ? "failed" : run?.status;
    },
    async stop(runId) {
      const run = await readRunRecord(store, runId);
      if (!run || run.status !== "running" || !run.pid) return;
      if (run.host && run.host !== hostname()) {
        throw new OrchError("E_USAGE", { message: `Run ${runId} is driven by a process on host ${run.host}.`, hint: `Stop it on ${run.host}.` });
      }
      if (runOwnerGone(run)) {
        await markStopped(store, run, `stopped: the process that ran it (pid ${run.pid}) had already ended`);
        return;
      }
      try {
        process.kill(run.pid, "SIGINT");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // already gone
      }
    },
    async *logs(runId, stepId) {
      const data = await store.read(journalKeys.log(runId, stepId));
      if (data) yield* Buffer.from(data).toString("utf8").split("\n").filter(Boolean);
    },
  };
}

/** Ends a run whose driving process is gone as `stopped`, with its unfinished steps. */
async function markStopped(store: ArtifactStore, run: RunRecord, message: string): Promise<void> {
  const finishedAt = new Date().toISOString();
  const error = { message, code: "E_CANCELLED" };
  for (const step of await readStepRecords(store, run.runId)) {
    if (step.status === "running" || step.status === "pending") await writeStepRecord(store, { ...step, status: "stopped", finishedAt, error });
  }
  await writeRunRecord(store, { ...run, status: "stopped", finishedAt, error });
}
