import type { OrchIndex, RunRow } from "@orch/store-sqlite";
import { localJournal, syncRunFromJournal, upsertJournaledRun, type Project } from "./context.js";
import { orchestratorForRun } from "./commands/run-control.js";

/**
 * Runs shown as running that execute elsewhere (no process on this host): asks their orchestrator's
 * status() — loading @orch/core and the plugin, so only when there are such runs.
 */
export async function reconcileRemoteRuns(index: OrchIndex, project: Project, runs: RunRow[]): Promise<void> {
  if (!runs.length || index.readonly) return;
  for (const run of runs) {
    try {
      const { orchestrator, stack, core } = await orchestratorForRun(run, index, project);
      try {
        const status = await orchestrator.status?.(run.runId);
        if (status && status !== "running") {
          const journal = localJournal(run);
          // The journal's end, with its error and every step, when it has one (status() may have just written it).
          const record = journal ? undefined : await core.readRunRecord(stack.artifactStore, run.runId).catch(() => undefined);
          if (journal?.readRun()?.status === status) syncRunFromJournal(index, run, journal);
          else if (record?.status === status) {
            const steps = await core.readStepRecords(stack.artifactStore, run.runId);
            upsertJournaledRun(index, record, steps, { storeUri: run.storeUri ?? stack.artifactStore.uri, storeFlavor: run.storeFlavor ?? stack.artifactStore.flavor, stack: run.stack, scheduleId: run.scheduleId });
          } else {
            const error = status === "succeeded" ? undefined : { message: `the ${orchestrator.flavor} orchestrator reports the run as ${status}` };
            index.upsertRun({ ...run, status, finishedAt: run.finishedAt ?? new Date().toISOString(), error: run.error ?? error });
          }
        }
      } finally {
        await orchestrator.dispose?.();
      }
    } catch {
      // The backend cannot be asked now (offline, plugin missing): show what the index knows.
    }
  }
}

