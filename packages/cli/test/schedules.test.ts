import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, waitFor, type TempProject } from "./harness.js";

let project: TempProject;

// A run-once schedule must lie in the future when it is registered (a past one is refused): soon after the tests start.
const SCHEDULED = () => `
import { step, pipeline } from "@orch/core";
const tick = step({ name: "tick", cache: false }, async () => Date.now());
export const every = pipeline({ name: "every", schedule: { intervalSeconds: 1 } }, () => { tick(); });
export const once = pipeline({ name: "once", schedule: { runOnceAt: "${new Date(Date.now() + 20_000).toISOString()}" } }, () => { tick(); });
export const nightly = pipeline({ name: "nightly", schedule: { cron: "0 2 * * *" } }, () => { tick(); });
`;

beforeAll(async () => {
  project = createProject("schedules");
  project.write("src/scheduled.ts", SCHEDULED());
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

const runsOf = async (pipeline: string) => (await project.json(["run", "list", "--json", "--all", "--pipeline", pipeline])) as any[];

describe("local schedules", () => {
  it("registers a scheduled pipeline in the index instead of running it, unless --now", async () => {
    for (const name of ["every", "once", "nightly"]) {
      const result = await project.orch(["pipeline", "run", `src/scheduled.ts#${name}`]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/orch schedule serve/);
    }
    expect(await runsOf("every")).toHaveLength(0);
    const schedules = await project.json(["schedule", "list", "--json"]);
    expect(schedules.map((s: any) => [s.id, s.managedBy, s.state])).toEqual([
      ["every@default", "index", "active"],
      ["once@default", "index", "active"],
      ["nightly@default", "index", "active"],
    ]);
    const now = await project.orch(["pipeline", "run", "src/scheduled.ts#nightly", "--now"]);
    expect(now.code, now.stderr).toBe(0);
    expect(await runsOf("nightly")).toHaveLength(1);
  });

  it("serve starts interval and run-once schedules, and the schedules survive a restart of serve", async () => {
    const serve = project.start(["schedule", "serve", "--poll", "100"]);
    try {
      await waitFor(async () => (await runsOf("every")).filter((r) => r.status === "succeeded").length >= 2, "two interval runs", 40_000);
      await waitFor(async () => (await runsOf("once")).length === 1, "the run-once run", 40_000);
    } finally {
      serve.kill("SIGINT"); // (also when waiting failed: never leave a serve process behind)
    }
    const stopped = await serve.result;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/schedule every@default: starting run/);

    const schedules = await project.json(["schedule", "list", "--json"]);
    const once = schedules.find((s: any) => s.id === "once@default");
    expect(once.state).toBe("completed");
    const every = schedules.find((s: any) => s.id === "every@default");
    expect(every.lastRunId).toBeTruthy();
    const nightly = schedules.find((s: any) => s.id === "nightly@default");
    expect(new Date(nightly.nextRunAt).getUTCHours()).toBe(2);

    const runs = await runsOf("every");
    expect(runs.every((r) => r.scheduleId === "every@default")).toBe(true);
    // never overlapping: each run started after the previous one finished
    const ordered = [...runs].reverse();
    for (let i = 1; i < ordered.length; i++) expect(ordered[i].startedAt >= ordered[i - 1].finishedAt).toBe(true);

    const countBefore = runs.length;
    const again = project.start(["schedule", "serve", "--poll", "100"]);
    await waitFor(async () => (await runsOf("every")).length > countBefore, "a run after restarting serve", 40_000);
    again.kill("SIGINT");
    expect((await again.result).code).toBe(0);
    expect(await runsOf("once")).toHaveLength(1);
  });

  it("deletes a schedule", async () => {
    const result = await project.orch(["schedule", "delete", "every@default"]);
    expect(result.code, result.stderr).toBe(0);
    const schedules = await project.json(["schedule", "list", "--json"]);
    expect(schedules.map((s: any) => s.id)).not.toContain("every@default");
    const missing = await project.orch(["schedule", "delete", "every@default"]);
    expect(missing.code).toBe(2);
  });
});
