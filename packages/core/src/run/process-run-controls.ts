import { hostname } from "node:os";
import { OrchError } from "../errors.js";
import type { Orchestrator } from "../plugins/plugin.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { journalKeys, readRunRecord } from "../store/journal.js";

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
    /**
     * The step's log from the store. With `follow`, polls until the run ends, yielding complete
     * lines as they arrive: remote stores (object storage) have no file to tail.
     */
    async *logs(runId, stepId, options) {
      const key = journalKeys.log(runId, stepId);
      let offset = 0;
      for (;;) {
        // Status first, then the log: the last read after the run ended sees every line.
        const following = options?.follow === true && isLive(await readRunRecord(store, runId));
        const data = await store.read(key);
        if (data && data.byteLength > offset) {
          const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength).subarray(offset);
          const end = following ? bytes.lastIndexOf(0x0a) + 1 : bytes.length;
          offset += end;
          yield* bytes.subarray(0, end).toString("utf8").split("\n").filter(Boolean);
        }
        if (!following) return;
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      }
    },
  };
}

const FOLLOW_POLL_MS = 500;

/** Running, and not abandoned by a driving process on this host that is gone. */
function isLive(run: { status: string; host?: string; pid?: number } | undefined): boolean {
  if (run?.status !== "running") return false;
  if (!run.pid || (run.host && run.host !== hostname())) return true;
  try {
    process.kill(run.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
