import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { defineOrchestrator } from "@orch/core/plugin";
import { checkSchedules, checkSdkLazy, createConformanceContext } from "@orch/testkit";
import plugin, { configSchema } from "./index.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));

// What the suite says about two classic mistakes, made on purpose with this plugin. Each check is a
// plain function, so a plugin author can run one on its own while fixing it.
describe("the conformance suite catches broken variants of this plugin", () => {
  const contexts: ReturnType<typeof createConformanceContext>[] = [];
  afterAll(() => Promise.all(contexts.map((c) => c.cleanup())));

  it("an entry that loads the runtime (and child_process) at import time", async () => {
    const context = createConformanceContext({ plugin, packageRoot, entry: "src/broken/eager-entry.ts", sdkModules: ["node:child_process"] });
    contexts.push(context);
    await expect(checkSdkLazy(context)).rejects.toThrow(/loads its SDK "node:child_process" before create\(\) \(imported by src\/runtime\.ts\)/);
  });

  it("declaring that it keeps schedules while schedule() drops them", async () => {
    const ignoresSchedules = defineOrchestrator({
      flavor: "subprocess",
      configSchema,
      capabilities: { ...plugin.capabilities, schedules: { cron: true, interval: true, once: true, manage: true } },
      runtime: async () => ({
        async createOrchestrator(config, context) {
          const runtime = await plugin.create(config, context);
          return { ...runtime, schedule: async () => ({ id: "every-night" }), deleteSchedule: async () => {}, listSchedules: async () => [] };
        },
      }),
    });
    const context = createConformanceContext({ plugin: ignoresSchedules, packageRoot });
    contexts.push(context);
    await expect(checkSchedules(context)).rejects.toThrow(/schedule\(\) returned id "every-night" for a cron schedule, but listSchedules\(\) does not show it .*silently dropped/);
  });
});
