import { executeRun, processRunControls, type Orchestrator, type PluginContext } from "@orch/core";
import type { MyFlavorConfig } from "./index.js";

/**
 * The runtime object. This is the place to import your SDK (`await import("my-flavor-sdk")` or a
 * static import in this file) and translate the snapshot for your backend.
 *
 * The template runs the snapshot in this process with core's scheduler, so it passes the
 * conformance suite from the start; replace `submit` step by step, keeping the suite green.
 */
export function createMyFlavorOrchestrator(config: MyFlavorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  const journal = processRunControls(store);
  return {
    flavor: "my-flavor",
    async submit(snapshot, submit) {
      // A backend that runs steps elsewhere passes `launch` to executeRun (start `orch-entrypoint step`
      // there), or translates the snapshot into its own DAG and returns a handle that polls run.json.
      const done = executeRun({
        snapshot,
        runId: submit.runId,
        store,
        maxParallelism: config.maxParallelism,
        signal: submit.signal,
        stack: context.stackName,
        orchestrator: "my-flavor",
        projectRoot: context.projectRoot,
        ...(submit.definitions ? { definitions: submit.definitions } : {}),
        ...(submit.pipeline ? { pipeline: submit.pipeline } : {}),
        ...(submit.observer ? { observer: submit.observer } : {}),
      });
      return { runId: submit.runId, wait: () => done };
    },
    // Status and logs straight from the run's journal in the artifact store.
    status: journal.status,
    logs: journal.logs,
    async dispose() {
      // Close clients here; it must be safe to call twice.
    },
  };
}
