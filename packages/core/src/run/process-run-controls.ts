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
    async *logs(runId, stepId) {
      const data = await store.read(journalKeys.log(runId, stepId));
      if (data) yield* Buffer.from(data).toString("utf8").split("\n").filter(Boolean);
    },
  };
}
