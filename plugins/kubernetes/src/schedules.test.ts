import { afterEach, describe, expect, it } from "vitest";
import { readRunRecord, readStepRecords } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import { createHarness, projectRoot, until, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";
import { scheduledRunId } from "./manifests.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("CronJob schedules", () => {
  it("creates, lists, runs and deletes a CronJob schedule", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 8 }, { projectRoot });
    const { id } = await runtime.schedule!(snapshot, { cron: "0 2 * * 1-5", timezone: "Europe/Berlin", catchup: false, allowOverlap: false });
    expect(id.length).toBeLessThanOrEqual(52);
    expect(await runtime.listSchedules!()).toEqual([{ id, pipeline: "quickstart", schedule: "0 2 * * 1-5 (Europe/Berlin)" }]);
    const cron = h.server.list("cronjobs")[0]!;
    expect(cron.spec).toMatchObject({ schedule: "0 2 * * 1-5", timeZone: "Europe/Berlin", concurrencyPolicy: "Forbid" });

    // The CronJob controller fires: its Job's pod derives the run id, copies the snapshot and runs the pipeline.
    const at = new Date("2030-01-07T01:00:00Z");
    const job = h.server.triggerCronJob("default", id, at);
    const runId = scheduledRunId(job.metadata.name);
    expect(runId.startsWith("20300107-010000-000-")).toBe(true);
    await until(async () => (await readRunRecord(h!.store, runId))?.status === "succeeded" && h!.server.list("jobs").find((j) => j.metadata.name === job.metadata.name)?.status?.conditions, "the scheduled run");
    expect((await readStepRecords(h.store, runId)).map((s) => s.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    // Its step Jobs carry the run id, so `orch run stop` and `orch run logs` find them.
    expect(h.server.list("jobs", `orch.dev/run-id=${runId}`)).toHaveLength(3);

    await runtime.deleteSchedule!(id);
    expect(await runtime.listSchedules!()).toEqual([]);
    expect(h.server.requests.find((r) => r.method === "DELETE" && r.path.endsWith(`/cronjobs/${id}`))?.body).toMatchObject({ propagationPolicy: "Background" });
    await expect(runtime.deleteSchedule!(id)).rejects.toMatchObject({ code: "E_USAGE" });
  });

  it("replaces the schedule of the same pipeline and cron instead of failing on 409", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 8 }, { projectRoot });
    const first = await runtime.schedule!(snapshot, { cron: "@hourly", catchup: false, allowOverlap: false });
    const second = await runtime.schedule!(snapshot, { cron: "@hourly", catchup: false, allowOverlap: false });
    expect(second.id).toBe(first.id);
    expect(h.server.list("cronjobs")).toHaveLength(1);
    expect(h.server.created.filter((c) => c.startsWith("cronjobs/"))).toHaveLength(2);
  });

  it("refuses schedules a CronJob cannot express, before creating anything", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 8 }, { projectRoot });
    await expect(runtime.schedule!(snapshot, { intervalSeconds: 45, catchup: false, allowOverlap: false })).rejects.toMatchObject({ code: "E_CRON_UNSUPPORTED" });
    await expect(runtime.schedule!(snapshot, { runOnceAt: "2030-01-01T00:00:00.000Z", catchup: false, allowOverlap: false })).rejects.toMatchObject({ code: "E_CAPABILITY_UNSUPPORTED" });
    expect(h.server.requests.filter((r) => r.method === "POST")).toEqual([]);
  });

  it("lists CronJobs made before the orch.dev/flavor label existed (selected by managed-by only)", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 8 }, { projectRoot });
    const { id } = await runtime.schedule!(snapshot, { cron: "@daily", catchup: false, allowOverlap: false });
    expect(h.server.list("cronjobs")[0]!.metadata.labels).toMatchObject({ "app.kubernetes.io/managed-by": "orch", "orch.dev/flavor": "kubernetes" });
    // What an earlier release created: the same CronJob without the flavor label.
    const old = h.server.objects.cronjobs.values().next().value!;
    delete old.metadata.labels["orch.dev/flavor"];
    expect(await runtime.listSchedules!()).toEqual([{ id, pipeline: "quickstart", schedule: "0 0 * * * (UTC)" }]);
  });
});
