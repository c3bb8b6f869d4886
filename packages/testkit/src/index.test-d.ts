import { describe, expectTypeOf, it } from "vitest";
import { z } from "@orch/core";
import { defineOrchestrator } from "@orch/core/plugin";
import { testOrchestratorPlugin, type OrchestratorConformanceOptions } from "./index.js";

const plugin = defineOrchestrator({
  flavor: "typed",
  configSchema: z.object({ host: z.string().describe("Host."), port: z.number().default(80).describe("Port.") }).strict(),
  capabilities: {
    dynamic: false,
    schedules: { cron: false, interval: false, once: false, manage: false },
    retries: "runner",
    resources: "none",
    stop: false,
    logs: false,
    parallel: false,
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  create: async () => ({ flavor: "typed", submit: async () => ({ runId: "r", wait: async () => ({}) as never }) }),
});

describe("testOrchestratorPlugin types", () => {
  it("types config from the plugin's schema input", () => {
    expectTypeOf<OrchestratorConformanceOptions<typeof plugin.configSchema>["config"]>().toEqualTypeOf<{ host: string; port?: number | undefined } | undefined>();
    // @ts-expect-error host must be a string
    testOrchestratorPlugin({ plugin, config: { host: 1 } });
    // @ts-expect-error unknown check names cannot be skipped
    testOrchestratorPlugin({ plugin, config: { host: "h" }, skip: { "no-such-check": "x" } });
  });
});
