import { hostname } from "node:os";
import { executeRun, journalKeys, readRunRecord, type Orchestrator, type PluginContext } from "@orch/core";
import type { LocalOrchestratorConfig } from "./index.js";

/** Executes snapshots in this process with core's scheduler and step runner. */
export function createLocalOrchestrator(config: LocalOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  return {
    flavor: "local",
    async submit(snapshot, submit) {
      const effective = config.executionMode
        ? { ...snapshot, pipeline: { ...snapshot.pipeline, settings: { ...snapshot.pipeline.settings, executionMode: config.executionMode } } }
        : snapshot;
      const done = executeRun({
        snapshot: effective,
        runId: submit.runId,
        store,
        maxParallelism: config.maxParallelism,
        signal: submit.signal,
        stack: context.stackName,
        orchestrator: "local",
        projectRoot: context.projectRoot,
        ...(submit.definitions ? { definitions: submit.definitions } : {}),
        ...(submit.pipeline ? { pipeline: submit.pipeline } : {}),
        ...(submit.observer ? { observer: submit.observer } : {}),
        ...(submit.resume ? { resume: true } : {}),
      });
      return { runId: submit.runId, wait: () => done };
    },
    async status(runId) {
      return (await readRunRecord(store, runId))?.status;
    },
    /** A local run lives in the process that started it: ask that process to stop (as Ctrl-C would). */
    async stop(runId) {
      const run = await readRunRecord(store, runId);
      if (!run || run.status !== "running" || !run.pid) return;
      if (run.host && run.host !== hostname()) throw new Error(`Run ${runId} runs on host ${run.host}; stop it there.`);
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
