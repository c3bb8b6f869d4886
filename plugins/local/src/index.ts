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
import { componentFactory, defineOrchestrator, z } from "@orch/core";

export const FLAVOR = "local";

export const configSchema = z
  .object({
    maxParallelism: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe("How many independent steps run at once; 1 runs steps strictly one after another."),
    executionMode: z
      .enum(["fail-fast", "continue-on-failure"])
      .optional()
      .describe("Overrides the pipeline's execution mode for runs on this orchestrator."),
  })
  .strict();

export type LocalOrchestratorConfig = z.output<typeof configSchema>;

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  capabilities: {
    dynamic: true,
    // Schedules of local pipelines are kept in the orch index and started by `orch schedule serve`.
    schedules: { cron: true, interval: true, once: true, manage: false },
    retries: "runner",
    resources: "recorded",
    stop: true,
    logs: true,
    parallel: true,
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  async create(config, context) {
    const { createLocalOrchestrator } = await import("./runtime.js");
    return createLocalOrchestrator(config, context);
  },
});

export default plugin;

/** Typed factory for stacks defined in code: `local({ maxParallelism: 2 })`. */
export const local = componentFactory(plugin);
