import { hostname } from "node:os";
import { OrchError } from "../errors.js";
import type { Orchestrator } from "../plugins/plugin.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { FINISHED_STEP_STATUSES, journalKeys, readRunRecord, readStepRecord } from "../store/journal.js";

/** How often `logs(…, { follow: true })` looks at the log again. */
const FOLLOW_POLL_MS = 500;

/**
 * `status`, `stop` and `logs` for flavors whose runs are driven by a process on this machine (local,
 * subprocess, …): status and logs come from the journal; stop asks the driving process (pid in
 * run.json) to stop, as Ctrl-C would, so it records the run as `stopped` itself.
 */
export function processRunControls(store: ArtifactStore): Required<Pick<Orchestrator, "status" | "stop" | "logs">> {
  return {
    async status(runId) {
      return (await readRunRecord(store, runId))?.status;
    },
    async stop(runId) {
      const run = await readRunRecord(store, runId);
      if (!run || run.status !== "running" || !run.pid) return;
      if (run.host && run.host !== hostname()) {
        throw new OrchError("E_USAGE", { message: `Run ${runId} is driven by a process on host ${run.host}.`, hint: `Stop it on ${run.host}.` });
      }
      try {
        process.kill(run.pid, "SIGINT");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // already gone
      }
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
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
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
  return Boolean(run.pid && run.host === hostname() && !processAlive(run.pid));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
