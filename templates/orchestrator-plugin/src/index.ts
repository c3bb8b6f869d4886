/**
 * orch-plugin-my-flavor — an orch orchestrator for my-flavor.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { myFlavor } from "orch-plugin-my-flavor";
 * await training.run({ stack: defineStack({ name: "dev", orchestrator: myFlavor({ endpoint: "https://…" }) }) });
 *
 * @module
 */
// Keep this file light: import only @orch/core here. Core imports it to validate stacks and list
// flavors; your backend's SDK belongs in runtime.ts, which create() loads.
import { componentFactory, defineOrchestrator, z } from "@orch/core";

export const FLAVOR = "my-flavor";

/** Stack config: strict, every key described, defaults here and nowhere else. */
export const configSchema = z
  .object({
    endpoint: z.url().optional().describe("URL of the my-flavor API. Unset: run in this process (the template's placeholder backend)."),
    maxParallelism: z.number().int().min(1).default(4).describe("How many steps run at once."),
  })
  .strict();

export type MyFlavorConfig = z.output<typeof configSchema>;

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  // Declare only what the backend really does: @orch/testkit checks every capability.
  capabilities: {
    dynamic: true,
    schedules: { cron: false, interval: false, once: false, manage: false },
    retries: "runner",
    resources: "none",
    stop: false,
    logs: true,
    parallel: true,
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  async create(config, context) {
    const { createMyFlavorOrchestrator } = await import("./runtime.js");
    return createMyFlavorOrchestrator(config, context);
  },
});

export default plugin;

/** Typed factory for stacks defined in code. */
export const myFlavor = componentFactory(plugin);
