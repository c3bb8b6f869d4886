import { executeRun, processRunControls, type Orchestrator, type PluginContext } from "@orch/core";
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
    ...processRunControls(store),
  };
}
