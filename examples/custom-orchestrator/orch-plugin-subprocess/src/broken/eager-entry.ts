// A deliberately broken variant of ../index.ts, for broken.test.ts: it imports the runtime (and so
// node:child_process) at module top instead of inside create().
import { defineOrchestrator } from "@orch/core";
import { configSchema } from "../index.js";
import { createSubprocessOrchestrator } from "../runtime.js";

export default defineOrchestrator({
  flavor: "subprocess",
  configSchema,
  capabilities: {
    dynamic: true,
    schedules: { cron: true, interval: true, once: true, manage: false },
    retries: "runner",
    resources: "recorded",
    stop: true,
    logs: true,
    parallel: true,
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  create: async (config, context) => createSubprocessOrchestrator(config, context),
});
