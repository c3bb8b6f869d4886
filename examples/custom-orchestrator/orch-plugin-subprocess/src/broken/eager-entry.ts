// A deliberately broken variant of ../index.ts, for broken.test.ts: it imports the runtime (and so
// node:child_process) at module top instead of through the lazy `runtime` import.
import { defineOrchestrator } from "@orch/core/plugin";
import { configSchema } from "../config.js";
import * as runtime from "../runtime.js";

export default defineOrchestrator({
  flavor: "subprocess",
  configSchema,
  capabilities: { dynamic: true, schedules: { cron: true, interval: true, once: true }, resources: "recorded", stop: true, logs: true, parallel: true },
  runtime: async () => runtime,
});
