/**
 * orch-plugin-subprocess — an orch orchestrator that runs every step in its own Node.js child
 * process (`orch-entrypoint step`), independent steps in parallel. A worked example of a
 * third-party plugin: install it, then `orch orchestrator register procs --flavor=subprocess`.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { subprocess } from "orch-plugin-subprocess";
 * await training.run({ stack: defineStack({ name: "procs", orchestrator: subprocess({ maxParallelism: 4 }) }) });
 *
 * @module
 */
// The entry imports only @orch/core/plugin and the schemas: validating a stack or listing flavors
// must not start anything. runtime.ts (child processes) loads on the first run.
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema } from "./config.js";

export { FLAVOR, configSchema, type SubprocessOrchestratorConfig } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  capabilities: {
    dynamic: true,
    // No scheduler of its own: orch's local scheduler (`orch schedule serve`) submits scheduled runs.
    schedules: { cron: true, interval: true, once: true },
    // A child process has no CPU or memory limit of its own; settings are kept in the run, not enforced.
    resources: "recorded",
    stop: true,
    logs: true,
    parallel: true,
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `subprocess({ maxParallelism: 4 })`. */
export const subprocess = componentFactory(plugin);
