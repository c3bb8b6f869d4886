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
// The entry imports only @orch/core: validating a stack or listing flavors must not start anything.
import { componentFactory, defineOrchestrator, z } from "@orch/core";

export const FLAVOR = "subprocess";

export const configSchema = z
  .object({
    maxParallelism: z.number().int().min(1).default(2).describe("How many step processes run at once."),
    nodeOptions: z
      .array(z.string())
      .default([])
      .describe('Extra Node.js flags for every step process, e.g. ["--max-old-space-size=4096"].'),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment variables for every step process."),
  })
  .strict();

export type SubprocessOrchestratorConfig = z.output<typeof configSchema>;

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  capabilities: {
    dynamic: true,
    // No scheduler of its own: orch's local scheduler (`orch schedule serve`) submits scheduled runs.
    schedules: { cron: true, interval: true, once: true, manage: false },
    retries: "runner",
    // A child process has no CPU or memory limit of its own; settings are kept in the run, not enforced.
    resources: "recorded",
    stop: true,
    logs: true,
    parallel: true,
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  async create(config, context) {
    const { createSubprocessOrchestrator } = await import("./runtime.js");
    return createSubprocessOrchestrator(config, context);
  },
});

export default plugin;

/** Typed factory for stacks defined in code: `subprocess({ maxParallelism: 4 })`. */
export const subprocess = componentFactory(plugin);
