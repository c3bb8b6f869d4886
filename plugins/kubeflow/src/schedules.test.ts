import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOutput, parseComponentConfig, readRunRecord, readStepRecord, type Orchestrator } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import plugin from "./index.js";
import { recurringTrigger } from "./schedules.js";
import { createHarness, packageRoot, type Harness } from "../test/harness.js";
import { failing, sumOfSquares } from "../test/fixtures/pipelines.js";

let h: Harness;
let runtime: Orchestrator;
beforeAll(async () => {
  h = await createHarness();
  runtime = await plugin.create(parseComponentConfig(plugin, h.config), { projectRoot: packageRoot, stackName: "kfp", artifactStore: await h.openStore("schedules") });
});
afterAll(async () => {
  await runtime?.dispose?.();
  await h?.close();
});

const snapshot = (params = { count: 3, offset: 1 }) => compilePipeline(sumOfSquares, params, { projectRoot: packageRoot }).snapshot;

describe("schedules as KFP recurring runs", () => {
  it("converts a Unix cron to KFP's seconds-first dialect, never sends it as is", () => {
    expect(recurringTrigger({ cron: "0 3 * * *", catchup: false, allowOverlap: false })).toEqual({ cron_schedule: { cron: "0 0 3 * * *" } });
    expect(recurringTrigger({ cron: "30 2 * * 7", catchup: false, allowOverlap: false })).toEqual({ cron_schedule: { cron: "0 30 2 * * 0" } });
    expect(recurringTrigger({ intervalSeconds: 900, startTime: "2030-01-01T00:00:00.000Z", catchup: false, allowOverlap: false })).toEqual({ periodic_schedule: { interval_second: "900", start_time: "2030-01-01T00:00:00.000Z" } });
    expect(() => recurringTrigger({ cron: "0 3 * * *", timezone: "Europe/Berlin", catchup: false, allowOverlap: false })).toThrow(/timezone "Europe\/Berlin" cannot be honoured/);
  });

  it("creates, lists and deletes recurring runs; the same pipeline on the same cron replaces its schedule", async () => {
    const { id } = await runtime.schedule!(snapshot(), { cron: "0 3 * * *", catchup: false, allowOverlap: false });
    const recurring = h.kfp.recurringRuns.get(id)!;
    expect(recurring).toMatchObject({ trigger: { cron_schedule: { cron: "0 0 3 * * *" } }, no_catchup: true, max_concurrency: "1", mode: "ENABLE" });
    const interval = await runtime.schedule!(snapshot(), { intervalSeconds: 3600, catchup: true, allowOverlap: true });
    expect(h.kfp.recurringRuns.get(interval.id)).toMatchObject({ trigger: { periodic_schedule: { interval_second: "3600" } }, no_catchup: false, max_concurrency: "10" });
    const again = await runtime.schedule!(snapshot(), { cron: "0 3 * * *", catchup: false, allowOverlap: false });
    expect(h.kfp.recurringRuns.has(id)).toBe(false);
    const listed = await runtime.listSchedules!();
    expect(listed.map((s) => [s.id, s.pipeline, s.schedule]).sort()).toEqual(
      [
        [again.id, "sum_of_squares", "0 0 3 * * *"],
        [interval.id, "sum_of_squares", "every 3600s"],
      ].sort(),
    );
    await runtime.deleteSchedule!(again.id);
    await runtime.deleteSchedule!(interval.id);
    expect(await runtime.listSchedules!()).toEqual([]);
    await expect(runtime.deleteSchedule!(again.id)).rejects.toMatchObject({ code: "E_USAGE", message: expect.stringContaining(`no recurring run "${again.id}"`) });
  });

  it("a run the recurring run starts executes from the IR alone: setup writes the journal, the steps run, finalize records the end", async () => {
    const { id } = await runtime.schedule!(snapshot({ count: 4, offset: 0 }), { cron: "*/5 * * * *", catchup: false, allowOverlap: false });
    const started = await h.kfp.trigger(id);
    const ended = await h.kfp.settled(started.run_id);
    expect(ended.state, JSON.stringify([...h.kfp.podLogs.entries()].slice(-3))).toBe("SUCCEEDED");
    // The KFP run's uuid is orch's run id.
    const store = await h.openStore("schedules");
    const run = await readRunRecord(store, started.run_id);
    expect(run).toMatchObject({ status: "succeeded", pipeline: "sum_of_squares", orchestrator: "kubeflow" });
    const total = await readStepRecord(store, started.run_id, "total");
    expect(await loadOutput(store, total!.outputs.output!)).toBe(1 + 4 + 9 + 16);
    await runtime.deleteSchedule!(id);
  });

  it("finalize records a failed scheduled run and the steps it skipped", async () => {
    const { id } = await runtime.schedule!(compilePipeline(failing, {}, { projectRoot: packageRoot }).snapshot, { intervalSeconds: 60, catchup: false, allowOverlap: false });
    const started = await h.kfp.trigger(id);
    const ended = await h.kfp.settled(started.run_id);
    expect(ended.state).toBe("FAILED");
    const store = await h.openStore("schedules");
    expect(await readRunRecord(store, started.run_id)).toMatchObject({ status: "failed", error: { message: "Step boom failed." } });
    expect((await readStepRecord(store, started.run_id, "boom"))?.status).toBe("failed");
    await runtime.deleteSchedule!(id);
  });
});
