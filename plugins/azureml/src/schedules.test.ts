/**
 * Schedules as Azure ML job schedules through the real SDK (long-running create and delete, paged list)
 * against the loopback ARM server; Windows time zones from IANA ones.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { loadOutput, readRunRecord, readStepRecord, readStepRecords } from "@orch/core/plugin";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { failingPipeline, gated, small } from "../test/fixtures/project/src/pipeline.js";
import { createHarness, missing, type Harness } from "../test/harness.js";
import { windowsTimeZone } from "./time-zone.js";

const projectRoot = fileURLToPath(new URL("../test/fixtures/project/", import.meta.url)).replace(/\/$/, "");
const snapshot = () => compilePipeline(small, { rows: 3 }, { projectRoot }).snapshot;
const ENDED = ["Completed", "Failed", "Canceled"];
/** A job's status, with its nodes' output when that is not what a test expects. */
const outcome = (h: Harness, name: string) => ({
  status: h.server.jobs.get(name)!.status,
  nodes: Object.fromEntries([...h.server.jobs.values()].filter((j) => j.parentJobName === name).map((j) => [j.name, `${j.status}: ${j.output.slice(-600)}`])),
});
const skip = missing();

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("windows time zones", () => {
  it("converts IANA zones with CLDR's table and refuses unknown ones", () => {
    expect(windowsTimeZone("Europe/Berlin", "p")).toBe("W. Europe Standard Time");
    expect(windowsTimeZone("America/New_York", "p")).toBe("Eastern Standard Time");
    expect(windowsTimeZone("Asia/Kolkata", "p")).toBe("India Standard Time");
    expect(windowsTimeZone(undefined, "p")).toBe("UTC");
    expect(windowsTimeZone("UTC", "p")).toBe("UTC");
    for (const bad of ["Mars/Olympus_Mons", "", "Europe/../etc", "europe/berlin "]) {
      if (bad === "") continue; // empty means none given: UTC
      expect(() => windowsTimeZone(bad, "p")).toThrow(expect.objectContaining({ code: "E_SCHEDULE_INVALID", key: "schedule.timezone" }));
    }
  });
});

describe.skipIf(skip)("azureml schedules", () => {
  it("creates a Cron schedule with a Windows time zone and a Recurrence for an interval, lists and deletes them", async () => {
    h = await createHarness({ projectRoot, server: { throttleOnce: ["PUT schedules"] } });
    const { runtime } = await h.runtime();
    const cron = await runtime.schedule!(snapshot(), { cron: "30 2 * * 1-5", timezone: "Europe/Berlin", catchup: false, allowOverlap: false } as never);
    const every = await runtime.schedule!(snapshot(), { intervalSeconds: 7200, catchup: false, allowOverlap: false } as never);
    const third = await runtime.schedule!(snapshot(), { intervalSeconds: 600, catchup: false, allowOverlap: false } as never);
    const created = h.server.schedules.get(cron.id)!.properties;
    expect(created.trigger).toEqual({ triggerType: "Cron", expression: "30 2 * * 1-5", timeZone: "W. Europe Standard Time" });
    expect(created.action.actionType).toBe("CreateJob");
    expect(created.action.jobDefinition.jobType).toBe("Pipeline");
    // Each firing's setup node writes its run's journal, its finalize node the run's end.
    expect(Object.keys(created.action.jobDefinition.jobs)).toEqual(["orch_setup", "load_data", "train", "evaluate", "report", "orch_finalize"]);
    expect(h.server.schedules.get(every.id)!.properties.trigger).toEqual({ triggerType: "Recurrence", frequency: "Hour", interval: 2, timeZone: "UTC" });
    // Three schedules, two per page: the list follows nextLink.
    const listed = await runtime.listSchedules!();
    expect(listed).toEqual(
      expect.arrayContaining([
        { id: cron.id, pipeline: "small", schedule: "30 2 * * 1-5 (W. Europe Standard Time)" },
        { id: every.id, pipeline: "small", schedule: "every 2 hour(s) (UTC)" },
        { id: third.id, pipeline: "small", schedule: "every 10 minute(s) (UTC)" },
      ]),
    );
    expect(listed).toHaveLength(3);
    await runtime.deleteSchedule!(cron.id);
    expect((await runtime.listSchedules!()).map((s) => s.id).sort()).toEqual([every.id, third.id].sort());
    await expect(runtime.deleteSchedule!(cron.id)).rejects.toMatchObject({ code: "E_USAGE" });
    // Long-running operations: create polled Azure-AsyncOperation, delete polled Location.
    expect(h.server.requests.some((r) => r.path.startsWith("/operations/") && r.path.includes("kind=async"))).toBe(true);
    expect(h.server.requests.some((r) => r.method === "DELETE" && r.status === 202)).toBe(true);
  });

  it("refuses an unknown time zone, a one-off run and an interval that is no whole minute before calling Azure", async () => {
    h = await createHarness({ projectRoot });
    const { runtime } = await h.runtime();
    await expect(runtime.schedule!(snapshot(), { cron: "0 * * * *", timezone: "Mars/Olympus_Mons" } as never)).rejects.toMatchObject({ code: "E_SCHEDULE_INVALID" });
    await expect(runtime.schedule!(snapshot(), { runOnceAt: "2030-01-01T00:00:00Z" } as never)).rejects.toMatchObject({ code: "E_CAPABILITY_UNSUPPORTED" });
    await expect(runtime.schedule!(snapshot(), { intervalSeconds: 90 } as never)).rejects.toMatchObject({ code: "E_SCHEDULE_INVALID" });
    expect(h.server.schedules.size).toBe(0);
  });

  it("each firing of a schedule is its own orch run, named after its pipeline job, with its own steps and outcome", async () => {
    h = await createHarness({ projectRoot });
    const { runtime, store } = await h.runtime();
    const { id } = await runtime.schedule!(snapshot(), { cron: "0 3 * * *", catchup: false, allowOverlap: false } as never);
    const fired: string[] = [];
    for (let i = 0; i < 2; i++) {
      const job = h.server.fireSchedule(id);
      await h.server.waitFor(job, ENDED);
      expect(outcome(h, job)).toMatchObject({ status: "Completed" });
      fired.push(job);
    }
    expect(new Set(fired).size).toBe(2);
    for (const [i, runId] of fired.entries()) {
      expect(await readRunRecord(store, runId)).toMatchObject({ runId, status: "succeeded", pipeline: "small", orchestrator: "azureml", stack: "aml" });
      const steps = await readStepRecords(store, runId);
      // The second firing has the same inputs: orch's cache serves its steps, recorded in its own run.
      const expected = i === 0 ? "succeeded" : "cached";
      expect(steps.map((s) => [s.stepId, s.status]).sort()).toEqual(["evaluate", "load_data", "report", "train"].map((step) => [step, expected]));
      expect(await loadOutput(store, (await readStepRecord(store, runId, "report"))!.outputs.output!)).toBe("report of 3 rows");
      expect(await runtime.status!(runId)).toBe("succeeded");
      // The run's studio page is its own pipeline job's.
      expect(await runtime.runUrl!(runId)).toContain(`/runs/${runId}?`);
    }
    // Nothing is journalled under the schedule's name.
    expect(await readRunRecord(store, id)).toBeUndefined();
  }, 240_000);

  it("a firing whose step fails ends failed: Azure ML runs no finalize node after a failure, so status() records the end", async () => {
    h = await createHarness({ projectRoot });
    const { runtime, store } = await h.runtime();
    const failing = compilePipeline(failingPipeline, {}, { projectRoot }).snapshot;
    const { id } = await runtime.schedule!(failing, { intervalSeconds: 3600, catchup: false, allowOverlap: false } as never);
    const job = h.server.fireSchedule(id);
    await h.server.waitFor(job, ENDED);
    expect(outcome(h, job).status).toBe("Failed");
    // The finalize node depends on every step: like Azure ML, the server never starts it after a failure.
    expect(h.server.jobs.get(`${job}_orch_finalize`)!.status).toBe("Canceled");
    expect((await readRunRecord(store, job))?.status).toBe("running");
    expect(await runtime.status!(job)).toBe("failed");
    expect(await readRunRecord(store, job)).toMatchObject({ status: "failed", error: { message: "Step always_fails failed." } });
    expect((await readStepRecord(store, job, "always_fails"))?.status).toBe("failed");
    expect((await readStepRecord(store, job, "report"))?.status).toBe("skipped");
  }, 240_000);

  it("a firing without AZUREML_ROOT_RUN_ID fails with a clear error and journals nothing (no shared run id)", async () => {
    h = await createHarness({ projectRoot, server: { omitRootRunId: true } });
    const { runtime, store } = await h.runtime();
    const { id } = await runtime.schedule!(snapshot(), { cron: "0 3 * * *", catchup: false, allowOverlap: false } as never);
    const job = h.server.fireSchedule(id);
    await h.server.waitFor(job, ENDED);
    expect(outcome(h, job).status).toBe("Failed");
    const setup = h.server.jobs.get(`${job}_orch_setup`)!;
    expect(setup.status).toBe("Failed");
    expect(setup.output).toContain("$AZUREML_ROOT_RUN_ID is not set");
    // No step ran, and no run was written (under any id).
    expect(h.server.jobs.get(`${job}_load_data`)!.status).toBe("Canceled");
    expect(await store.list("runs/")).toEqual([]);
  }, 120_000);

  it("orch run stop of a firing cancels that firing's pipeline job (found through its setup's record), and the run ends stopped", async () => {
    h = await createHarness({ projectRoot });
    const { runtime, store } = await h.runtime();
    const gate = join(mkdtempSync(join(tmpdir(), "orch-aml-sched-gate-")), "open");
    const { id } = await runtime.schedule!(compilePipeline(gated, { gate }, { projectRoot }).snapshot, { cron: "0 3 * * *", catchup: false, allowOverlap: false } as never);
    const job = h.server.fireSchedule(id);
    await h.server.waitFor(`${job}_wait_for_gate`, ["Running"]);
    await runtime.stop!(job);
    expect((await h.server.waitFor(job, ENDED)).status).toBe("Canceled");
    expect(await readRunRecord(store, job)).toMatchObject({ status: "stopped" });
    expect((await readStepRecord(store, job, "wait_for_gate"))?.status).toBe("stopped");
    writeFileSync(gate, "");
  }, 120_000);
});
