import { describe, expect, it } from "vitest";
import { type ScheduleInput, ScheduleSchema, scheduleKind } from "./schedule.js";

const issues = (input: unknown) => {
  const result = ScheduleSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error?.issues.map((issue) => issue.message).join("\n") ?? "";
};

describe("ScheduleSchema", () => {
  it("applies defaults to a cron schedule", () => {
    expect(ScheduleSchema.parse({ cron: "0 2 * * *", timezone: "Europe/Berlin" })).toEqual({
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      catchup: false,
      allowOverlap: false,
    });
  });

  it("stores instants as UTC ISO strings, from Dates or offset strings", () => {
    const schedule = ScheduleSchema.parse({
      runOnceAt: new Date("2025-01-01T02:00:00Z"),
      startTime: "2025-01-01T03:00:00+01:00",
    } satisfies ScheduleInput);
    expect(schedule.runOnceAt).toBe("2025-01-01T02:00:00.000Z");
    expect(schedule.startTime).toBe("2025-01-01T02:00:00.000Z");
  });

  it.each([
    [{}, "exactly one of cron, intervalSeconds or runOnceAt; got none"],
    [{ cron: "0 2 * * *", intervalSeconds: 60 }, "got cron and intervalSeconds"],
    [{ intervalSeconds: 60, runOnceAt: "2025-01-01T00:00:00Z" }, "got intervalSeconds and runOnceAt"],
  ])("requires exactly one trigger: %j", (input, message) => {
    expect(issues(input)).toContain(message);
  });

  it.each([
    [{ cron: "0 25 * * *" }, 'Invalid cron "0 25 * * *": hour 25 is out of range 0-23'],
    [{ cron: "0 0 2 * * *" }, "expected 5 fields"],
    [{ cron: "0 2 * * *", timezone: "Mars/Olympus" }, 'unknown timezone "Mars/Olympus"'],
    [{ runOnceAt: "2025-01-01T02:00:00" }, 'with "Z" or an offset'],
    [{ runOnceAt: new Date("nope") }, 'with "Z" or an offset, e.g. "2025-01-01T02:00:00Z", or a Date'],
    [{ intervalSeconds: 0 }, ""],
    [{ intervalSeconds: 1.5 }, ""],
    [{ cron: "0 2 * * *", every: "day" }, "every"],
    [
      { cron: "0 2 * * *", startTime: "2025-02-01T00:00:00Z", endTime: "2025-01-01T00:00:00Z" },
      "endTime (2025-01-01T00:00:00.000Z) must be after startTime (2025-02-01T00:00:00.000Z)",
    ],
  ])("rejects %j", (input, message) => {
    expect(issues(input)).toContain(message);
  });
});

describe("scheduleKind", () => {
  it.each([
    [{ cron: "@daily" }, "cron"],
    [{ intervalSeconds: 300 }, "interval"],
    [{ runOnceAt: "2025-01-01T00:00:00Z" }, "once"],
  ] as const)("classifies %j as %s", (input, kind) => {
    expect(scheduleKind(ScheduleSchema.parse(input))).toBe(kind);
  });
});
