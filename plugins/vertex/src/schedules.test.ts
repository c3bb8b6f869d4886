/**
 * Schedules through the real ScheduleServiceClient against the loopback Vertex AI server: created with
 * a TZ= cron and maxConcurrentRunCount, listed (all pages), deleted through the long-running operation,
 * and a run Vertex starts at the cron time executes end to end (its first task starts the journal).
 */
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { ScheduleSchema, readRunRecord, readStepRecords } from "@orch/core/plugin";
import { createHarness, until, type Harness } from "../test/harness.js";
import { sumPipeline } from "../test/fixtures/project/src/pipeline.js";
import { vertexCron } from "./schedules.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const snapshotOf = (root: string) => compilePipeline(sumPipeline, { n: 5 }, { projectRoot: root }).snapshot;

describe("vertex schedules", () => {
  it("speaks Vertex's cron: TZ= prefix, Sunday 0, macros expanded, intervals as cron, one-off runs once", () => {
    expect(vertexCron(ScheduleSchema.parse({ cron: "0 3 * * *" }))).toEqual({ cron: "TZ=UTC 0 3 * * *" });
    expect(vertexCron(ScheduleSchema.parse({ cron: "30 2 * * 7", timezone: "Europe/Berlin" }))).toEqual({ cron: "TZ=Europe/Berlin 30 2 * * 0" });
    expect(vertexCron(ScheduleSchema.parse({ cron: "@daily" })).cron).toBe("TZ=UTC 0 0 * * *");
    expect(vertexCron(ScheduleSchema.parse({ intervalSeconds: 900 })).cron).toBe("TZ=UTC */15 * * * *");
    expect(vertexCron(ScheduleSchema.parse({ runOnceAt: "2031-05-04T03:02:00Z" }))).toEqual({ cron: "TZ=UTC 2 3 4 5 *", maxRunCount: 1 });
    expect(() => vertexCron(ScheduleSchema.parse({ intervalSeconds: 7 * 60 }))).toThrow(/cannot repeat intervalSeconds: 420/);
  });

  it("creates, lists (across pages) and deletes schedules; a run Vertex starts from one executes end to end", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    const snapshot = snapshotOf(h.config.projectRoot!);
    const { id } = await runtime.schedule!(snapshot, ScheduleSchema.parse({ cron: "0 3 * * *", timezone: "America/New_York", catchup: true }));
    const sent = [...h.vertex.schedules.values()][0]!;
    expect(sent.cron).toBe("TZ=America/New_York 0 3 * * *");
    expect(sent.maxConcurrentRunCount).toBe("1");
    expect(sent.catchUp).toBe(true);
    expect(Object.keys(sent.createPipelineJobRequest.pipelineJob.pipelineSpec.root.dag.tasks).sort()).toEqual(["load", "orch-finalize", "orch-setup", "total"]);
    const overlap = await runtime.schedule!(snapshot, ScheduleSchema.parse({ intervalSeconds: 3600, allowOverlap: true }));
    expect(h.vertex.schedules.get(`projects/orch-test-project/locations/us-central1/schedules/${overlap.id}`)?.maxConcurrentRunCount).toBe("10");
    // More schedules than one page holds (the server pages by 20): the list follows nextPageToken.
    const more: string[] = [];
    for (let minute = 0; minute < 20; minute++) more.push((await runtime.schedule!(snapshot, ScheduleSchema.parse({ cron: `${minute} 4 * * *` }))).id);
    const listed = await runtime.listSchedules!();
    expect(h.vertex.requests.some((r) => r.includes("/schedules?pageToken=") || /\/schedules\?.*pageToken=/.test(r))).toBe(true);
    expect(listed.map((s) => s.id).sort()).toEqual([id, overlap.id, ...more].sort());
    // The same pipeline on the same times replaces its schedule.
    const again = await runtime.schedule!(snapshot, ScheduleSchema.parse({ cron: "0 4 * * *" }));
    expect((await runtime.listSchedules!()).map((s) => s.id)).not.toContain(more[0]);
    for (const other of [...more.slice(1), again.id]) await runtime.deleteSchedule!(other);
    expect(listed.find((s) => s.id === id)).toMatchObject({ pipeline: "vertex_sum", schedule: "TZ=America/New_York 0 3 * * *" });

    // Vertex starts a run at the cron time: its id is the PipelineJob's, and the steps run from the schedule's snapshot.
    const job = h.vertex.trigger(sent.name)!;
    const runId = job.name.split("/").pop();
    await h.vertex.idle();
    expect(h.vertex.jobs.get(job.name)!.state, h.vertex.taskLog(job.name, "orch-setup")).toBe("PIPELINE_STATE_SUCCEEDED");
    expect((await readStepRecords(h.store, runId)).map((s) => `${s.stepId}:${s.status}`).sort()).toEqual(["load:succeeded", "total:succeeded"]);
    // Its last task recorded its end.
    expect((await readRunRecord(h.store, runId))?.status).toBe("succeeded");
    expect(await runtime.status!(runId)).toBe("succeeded");

    await runtime.deleteSchedule!(id);
    expect(h.vertex.requests.some((r) => /^GET \/(v1|ui)\/projects\/[^/]+\/locations\/[^/]+\/operations\//.test(r))).toBe(true);
    expect((await runtime.listSchedules!()).map((s) => s.id)).toEqual([overlap.id]);
    expect(await h.store.list(`schedules/`)).toHaveLength(1);
    await expect(runtime.deleteSchedule!(id)).rejects.toMatchObject({ code: "E_USAGE", message: expect.stringContaining(`No schedule "${id}"`) });
  });

  it("honours maxConcurrentRunCount: no second run while one is running", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    await runtime.schedule!(snapshotOf(h.config.projectRoot!), ScheduleSchema.parse({ cron: "*/5 * * * *" }));
    const schedule = [...h.vertex.schedules.values()][0]!;
    expect(h.vertex.trigger(schedule.name)).toBeTruthy();
    expect(h.vertex.trigger(schedule.name)).toBeUndefined();
    await h.vertex.idle();
    await until(() => h!.vertex.trigger(schedule.name), "a new run once the first ended");
    await h.vertex.idle();
  });
});
