/**
 * @orch/plugin-local-docker — the local_docker orchestrator: runs every step in its own container on
 * a Docker engine (`orch-entrypoint step` inside), independent steps in parallel, with the project
 * built into an image tagged by content hash (or bind-mounted read-only with `mountSource`).
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { localDocker } from "@orch/plugin-local-docker";
 * await training.run({ stack: defineStack({ name: "docker", orchestrator: localDocker({ baseImage: "node:20-bookworm-slim" }) }) });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, settingsSchema, type LocalDockerOrchestratorConfig, type LocalDockerStepSettings } from "./config.js";
export { onImageEvent, type ImageEvent } from "./events.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // The pipeline function runs in the orch process; every step it calls runs in a container.
    dynamic: true,
    // Kept in the orch index and started by `orch schedule serve`, like the local orchestrator.
    schedules: { cron: true, interval: true, once: true },
    resources: "exact",
    stop: true,
    logs: true,
    parallel: true,
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `localDocker({ mountSource: true })`. */
export const localDocker = componentFactory(plugin);
