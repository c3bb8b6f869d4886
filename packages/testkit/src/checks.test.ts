import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { defineOrchestrator, processRunControls, z, type OrchestratorPlugin } from "@orch/core/plugin";
import {
  checkCache,
  checkConfigSchema,
  checkDescriptor,
  checkDispose,
  checkDynamic,
  checkFailure,
  checkLogs,
  checkParallel,
  checkResources,
  checkRetries,
  checkSchedules,
  checkStatusStop,
} from "./checks.js";
import { ORCHESTRATOR_CHECKS, createConformanceContext, packageRootOf, type ConformanceContext, type OrchestratorConformanceOptions } from "./context.js";
import { testOrchestratorPlugin } from "./conformance.js";
import { ConformanceSkip } from "./errors.js";
import { alwaysSucceeds, referenceCapabilities, referencePlugin } from "./test-plugins.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const contexts: ConformanceContext[] = [];
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.cleanup()));
});

function contextFor(plugin: OrchestratorPlugin, options: Partial<OrchestratorConformanceOptions> = {}): ConformanceContext {
  const context = createConformanceContext({ plugin, packageRoot, ...options });
  contexts.push(context);
  return context;
}

// The well-behaved reference runs the whole suite, so each failure below is caused by its one defect.
describe("a well-behaved in-process plugin", () => {
  testOrchestratorPlugin({
    plugin: referencePlugin(),
    packageRoot,
    parallelWaitSeconds: 10,
    // The testkit's own package.json is not a plugin package; the entry check has its own tests.
    skip: { package: "the testkit is not a plugin package", "sdk-lazy": "covered in sdk-probe.test.ts with real entry files" },
  });
});

describe("suite defaults", () => {
  it("takes packageRoot from the package of the test file, and projectRoot from packageRoot", () => {
    // testOrchestratorPlugin() passes the running test file; this is the lookup it uses.
    expect(packageRootOf(expect.getState().testPath)).toBe(packageRoot.replace(/\/$/, ""));
    const context = contextFor(referencePlugin());
    expect(context.projectRoot).toBe(context.packageRoot);
  });
});

describe("deliberately broken plugins are caught", () => {
  it("a schedule the plugin says it manages but silently drops", async () => {
    const plugin = referencePlugin({
      capabilities: { schedules: { cron: true, interval: false, once: false, manage: true } },
      runtime: () => ({
        async schedule() {
          return { id: "sched-1" }; // never stored anywhere
        },
        async deleteSchedule() {},
        async listSchedules() {
          return [];
        },
      }),
    });
    await expect(checkSchedules(contextFor(plugin))).rejects.toThrow(/returned id "sched-1" for a cron schedule, but listSchedules\(\) does not show it.*silently dropped/);
  });

  it("schedules.manage declared without a schedule() method", async () => {
    const plugin = referencePlugin({ capabilities: { schedules: { cron: true, interval: true, once: true, manage: true } } });
    await expect(checkSchedules(contextFor(plugin))).rejects.toThrow(/schedules\.manage is true, but the runtime has no schedule\(\)/);
  });

  it("a schedule() that returns no id", async () => {
    const plugin = referencePlugin({
      capabilities: { schedules: { cron: true, interval: false, once: false, manage: true } },
      runtime: () => ({ schedule: async () => ({}) as { id: string }, deleteSchedule: async () => {}, listSchedules: async () => [] }),
    });
    await expect(checkSchedules(contextFor(plugin))).rejects.toThrow(/schedule\(\) for a cron schedule returned no id/);
  });

  it("a schedule() implemented while manage is false (core would never call it)", async () => {
    const plugin = referencePlugin({ runtime: () => ({ schedule: async () => ({ id: "x" }) }) });
    await expect(checkSchedules(contextFor(plugin))).rejects.toThrow(/implements schedule\(\) but capabilities\.schedules\.manage is false/);
  });

  it("a plugin that manages schedules properly passes", async () => {
    const schedules = new Map<string, string>();
    const plugin = referencePlugin({
      capabilities: { schedules: { cron: true, interval: true, once: false, manage: true } },
      runtime: () => ({
        async schedule(snapshot) {
          const id = `s${schedules.size + 1}`;
          schedules.set(id, snapshot.pipeline.name);
          return { id };
        },
        async deleteSchedule(id) {
          schedules.delete(id);
        },
        async listSchedules() {
          return [...schedules].map(([id, pipeline]) => ({ id, pipeline, schedule: "" }));
        },
      }),
    });
    await expect(checkSchedules(contextFor(plugin))).resolves.toBeUndefined();
  });

  it("declares dynamic pipelines but does not run them", async () => {
    const plugin = referencePlugin({ mapSubmit: ({ pipeline: _dropped, ...submit }) => submit });
    await expect(checkDynamic(contextFor(plugin))).rejects.toThrow(/capabilities\.dynamic is true, but the dynamic pipeline tk_dynamic did not run correctly/);
  });

  it("a plugin without dynamic support has dynamic pipelines refused, naming the flavor", async () => {
    const plugin = referencePlugin({ capabilities: { dynamic: false } });
    await expect(checkDynamic(contextFor(plugin))).resolves.toBeUndefined();
  });

  it("drops the retry policy", async () => {
    const plugin = referencePlugin({
      mapSnapshot: (snapshot) => ({
        ...snapshot,
        steps: Object.fromEntries(Object.entries(snapshot.steps).map(([id, s]) => [id, { ...s, settings: { ...s.settings, retry: { ...s.settings.retry, maxRetries: 0 } } }])),
      }),
    });
    await expect(checkRetries(contextFor(plugin))).rejects.toThrow(/ended "failed", expected "succeeded".*tk_flaky=failed/);
  });

  it("turns caching off", async () => {
    const plugin = referencePlugin({
      mapSnapshot: (snapshot) => ({
        ...snapshot,
        steps: Object.fromEntries(Object.entries(snapshot.steps).map(([id, s]) => [id, { ...s, settings: { ...s.settings, cache: false } }])),
      }),
    });
    await expect(checkCache(contextFor(plugin))).rejects.toThrow(/step "tk_\w+" is "succeeded" in runs\/.*, expected "cached"/);
  });

  it("reports a failed run as succeeded", async () => {
    await expect(checkFailure(contextFor(alwaysSucceeds()))).rejects.toThrow(/ended "succeeded", expected "failed"/);
  });

  it("declares parallel but runs one step at a time", async () => {
    const context = contextFor(referencePlugin(), { config: { maxParallelism: 1 }, parallelWaitSeconds: 1 });
    await expect(checkParallel(context)).rejects.toThrow(/capabilities\.parallel is true, but two independent steps did not run at the same time/);
  });

  it("declares logs, and logs() yields nothing", async () => {
    // (A runtime without logs() gets the journal's from core: only a broken one can fail.)
    const plugin = referencePlugin({ runtime: () => ({ logs: async function* () {} }) });
    await expect(checkLogs(contextFor(plugin))).rejects.toThrow(/did not yield the line the step logged/);
  });

  it("declares stop without a stop() method", async () => {
    const plugin = referencePlugin({ capabilities: { stop: true } });
    await expect(checkStatusStop(contextFor(plugin))).rejects.toThrow(/capabilities\.stop is true, but the runtime has no stop/);
  });

  it("declares exact resources but runs steps without the limits", async () => {
    // In-process steps: no cgroup of their own with the 256MiB / 1 CPU they asked for.
    const plugin = referencePlugin({ capabilities: { resources: "exact" } });
    await expect(checkResources(contextFor(plugin))).rejects.toThrow(/capabilities\.resources is "exact", but step tk_limits ran with memory limit \S+ \(asked for 256MiB = 268435456 bytes\)/);
  });

  it("a recorded-resources plugin runs the resource pipeline", async () => {
    await expect(checkResources(contextFor(referencePlugin()))).resolves.toBeUndefined();
  });

  it("declares stop but stop() leaves a running run running", async () => {
    const plugin = referencePlugin({ capabilities: { stop: true }, runtime: () => ({ async stop() {} }) });
    await expect(checkStatusStop(contextFor(plugin, { stopWaitSeconds: 3 }))).rejects.toThrow(/stop\(\) of running run tk-stop-\w+ did not stop it: run\.json says "succeeded" \(tk_sleeper waited its 3s and finished\)/);
  });

  it("declares stop and stops a running run (as local does: the run's own process handles the signal)", async () => {
    const plugin = referencePlugin({ capabilities: { stop: true }, runtime: (_base, context) => ({ stop: processRunControls(context.artifactStore).stop }) });
    await expect(checkStatusStop(contextFor(plugin, { stopWaitSeconds: 30 }))).resolves.toBeUndefined();
  });

  it("declares parallel: false: the parallel check is skipped with the reason, not passed", async () => {
    const error = await checkParallel(contextFor(referencePlugin({ capabilities: { parallel: false } }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceSkip);
    expect((error as ConformanceSkip).reason).toMatch(/capabilities\.parallel is false/);
  });

  it("declares logs: false: the logs check is skipped with the reason, not passed", async () => {
    const error = await checkLogs(contextFor(referencePlugin({ capabilities: { logs: false } }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceSkip);
    expect((error as ConformanceSkip).reason).toMatch(/capabilities\.logs is false/);
  });

  it("a resources: none plugin has resource settings refused", async () => {
    await expect(checkResources(contextFor(referencePlugin({ capabilities: { resources: "none" } })))).resolves.toBeUndefined();
  });

  it("a dispose() that throws the second time", async () => {
    let disposed = false;
    const plugin = referencePlugin({
      runtime: () => ({
        async dispose() {
          if (disposed) throw new Error("client already closed");
          disposed = true;
        },
      }),
    });
    await expect(checkDispose(contextFor(plugin))).rejects.toThrow(/dispose\(\) threw when called a second time: client already closed/);
  });

  it("a config schema that is not strict", async () => {
    const plugin = referencePlugin({ configSchema: z.object({ maxParallelism: z.number().default(2).describe("Parallel steps.") }) });
    await expect(checkConfigSchema(contextFor(plugin))).rejects.toThrow(/accepts the unknown key "orchTestkitUnknownKey"\. Make it strict/);
  });

  it("a config key without a description", async () => {
    const plugin = referencePlugin({ configSchema: z.object({ maxParallelism: z.number().default(2), region: z.string().optional() }).strict() });
    await expect(checkConfigSchema(contextFor(plugin))).rejects.toThrow(/config key\(s\) maxParallelism, region have no \.describe\(\)/);
  });

  it("a config the suite was given that the schema rejects", async () => {
    await expect(checkConfigSchema(contextFor(referencePlugin(), { config: { maxParallelism: 0 } }))).rejects.toThrow(/config passed to the suite is not valid.*maxParallelism/);
  });

  it("a hand-made descriptor instead of defineOrchestrator", async () => {
    const plugin = { kind: "orchestrator", apiVersion: 1, flavor: "reference", configSchema: z.object({}).strict(), capabilities: referenceCapabilities, create: async () => ({}) };
    await expect(checkDescriptor(contextFor(plugin as unknown as OrchestratorPlugin))).rejects.toThrow(/not frozen/);
  });

  it("a descriptor built for another plugin API", async () => {
    const plugin = Object.freeze({ ...referencePlugin(), apiVersion: 0 });
    await expect(checkDescriptor(contextFor(plugin as OrchestratorPlugin))).rejects.toThrow(/built for orch plugin API 0, this @orch\/core speaks API 1/);
  });

  it("a flavor id that is not canonical", async () => {
    const plugin = Object.freeze({ ...referencePlugin(), flavor: "Local_Docker" });
    await expect(checkDescriptor(contextFor(plugin as OrchestratorPlugin))).rejects.toThrow(/flavor "Local_Docker" is not a canonical flavor id.*"local-docker"/);
  });

  it("capabilities with a missing entry", async () => {
    const { logs: _missing, ...capabilities } = referenceCapabilities;
    // defineOrchestrator fills in every capability; a descriptor made another way may lack one.
    const plugin = Object.freeze({ ...referencePlugin(), capabilities });
    await expect(checkDescriptor(contextFor(plugin as unknown as OrchestratorPlugin))).rejects.toThrow(/capabilities\.logs: /);
  });
});
