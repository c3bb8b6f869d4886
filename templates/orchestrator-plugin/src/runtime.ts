import { runOnCoreScheduler, type Orchestrator, type PluginContext } from "@orch/core/plugin";
import { FLAVOR, type MyFlavorConfig } from "./config.js";

/**
 * The runtime object. This is the place to import your SDK (`await import("my-flavor-sdk")` or a
 * static import in this file) and translate the snapshot for your backend.
 *
 * The template runs the snapshot in this process with core's scheduler, so it passes the
 * conformance suite from the start; replace `submit` step by step, keeping the suite green:
 * - steps run elsewhere, driven from here: pass a launcher as the third argument of
 *   runOnCoreScheduler that starts `stepCommand(...)` there and resolves when it ended;
 * - the backend runs the whole DAG: translate the snapshot, start it, and return a handle whose
 *   wait() is `followRun(store, runId, submit.observer, { backendEnded })`; implement stop() with
 *   `settleRun(...)`.
 * status() and logs() come from the run's journal unless you implement them.
 */
export function createOrchestrator(config: MyFlavorConfig, context: PluginContext): Orchestrator {
  return {
    flavor: FLAVOR,
    submit: async (snapshot, submit) => runOnCoreScheduler(snapshot, { plugin: context, submit, flavor: FLAVOR, maxParallelism: config.maxParallelism }),
    async dispose() {
      // Close clients here; it must be safe to call twice.
    },
  };
}
