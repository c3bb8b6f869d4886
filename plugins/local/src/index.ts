/**
 * @orch/plugin-local — the local orchestrator: runs a pipeline in the current process, independent
 * steps in parallel up to `maxParallelism` (1 = strictly sequential, as ZenML's local orchestrator).
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { local } from "@orch/plugin-local";
 * await training.run({ stack: defineStack({ name: "dev", orchestrator: local({ maxParallelism: 4 }) }) });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema } from "./config.js";

export { FLAVOR, configSchema, type LocalOrchestratorConfig } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  capabilities: {
    dynamic: true,
    // Schedules of local pipelines are kept in the orch index and started by `orch schedule serve`.
    schedules: { cron: true, interval: true, once: true },
    resources: "recorded",
    stop: true,
    logs: true,
    parallel: true,
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `local({ maxParallelism: 2 })`. */
export const local = componentFactory(plugin);
