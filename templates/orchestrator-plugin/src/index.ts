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
// Keep this file light: import only @orch/core/plugin and ./config.js here. Core imports it to
// validate stacks and list flavors; your backend's SDK belongs in runtime.ts, loaded on first use.
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema } from "./config.js";

export { FLAVOR, configSchema, type MyFlavorConfig } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  // Declare only what the backend really does (the rest is "not supported"): @orch/testkit checks
  // every capability.
  capabilities: { dynamic: true, logs: true, parallel: true },
  // The lazy import is the contract: runtime.ts exports createOrchestrator(config, context).
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code. */
export const myFlavor = componentFactory(plugin);
