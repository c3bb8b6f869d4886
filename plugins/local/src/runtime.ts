import { processRunControls, runOnCoreScheduler, type Orchestrator, type PluginContext } from "@orch/core/plugin";
import { FLAVOR, type LocalOrchestratorConfig } from "./config.js";

/** Executes snapshots in this process with core's scheduler and step runner. */
export function createOrchestrator(config: LocalOrchestratorConfig, context: PluginContext): Orchestrator {
  return {
    flavor: FLAVOR,
    submit: async (snapshot, submit) => runOnCoreScheduler(snapshot, { plugin: context, submit, flavor: FLAVOR, ...config }),
    // Stop asks the driving process (pid in run.json), as Ctrl-C would.
    ...processRunControls(context.artifactStore),
  };
}
