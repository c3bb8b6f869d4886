/**
 * Schedules as Azure ML job schedules through the real SDK (long-running create and delete, paged list)
 * against the loopback ARM server; Windows time zones from IANA ones.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { small } from "../test/fixtures/project/src/pipeline.js";
import { createHarness, missing, type Harness } from "../test/harness.js";
import { windowsTimeZone } from "./time-zone.js";

const projectRoot = fileURLToPath(new URL("../test/fixtures/project/", import.meta.url)).replace(/\/$/, "");
const snapshot = () => compilePipeline(small, { rows: 3 }, { projectRoot }).snapshot;
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
    expect(Object.keys(created.action.jobDefinition.jobs)).toEqual(["load_data", "train", "evaluate", "report"]);
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
});
