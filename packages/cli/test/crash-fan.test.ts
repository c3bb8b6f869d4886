import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, journalRecords, waitFor, type TempProject } from "./harness.js";

const FAN = 1000;
let project: TempProject;
let trace: string;
beforeAll(async () => {
  project = createProject("crash-fan");
  project.write(
    "src/fan.ts",
    `import { step, pipeline, getStepContext } from "@orch/core";
import { appendFileSync } from "node:fs";
const work = step({ name: "work", cache: false }, (..._xs: number[]) => {
  appendFileSync(process.env.TRACE!, getStepContext().stepId + "\\n");
  return 1;
});
export const fan = pipeline({ name: "fan" }, () => {
  const root = work();
  const middle = Array.from({ length: ${FAN} }, (_, i) => work(root, i));
  work(...middle);
});
`,
  );
  trace = join(project.dir, "trace.txt");
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

const traced = () => (existsSync(trace) ? readFileSync(trace, "utf8").trim().split("\n").filter(Boolean) : []);

/** Steps whose final record is in the journal: what a resume must keep. */
function finishedSteps(runId: string): string[] {
  return [...journalRecords(join(project.dir, ".orch", "artifacts"), runId).values()].filter((r) => r.status === "succeeded").map((r) => r.stepId);
}

describe("crash safety of a 1,000-step fan", () => {
  it("after kill -9 mid-fan, orch run resume finishes the run and recomputes no step that had finished", async () => {
    const runId = "crash-fan-1";
    const child = project.start(["pipeline", "run", "src/fan.ts", "--run-id", runId], { env: { TRACE: trace } });
    await waitFor(() => traced().length >= 300, "300 steps of the fan to run", 120_000);
    child.kill("SIGKILL");
    await child.result;

    const finished = finishedSteps(runId);
    expect(finished.length).toBeGreaterThan(0);
    expect(finished.length).toBeLessThan(FAN + 2);
    expect(finished).not.toContain("work_1002"); // the fan-in had not run
    const ranBefore = traced().length;

    const listed = await project.json(["run", "list", "--json"]);
    expect(listed.find((r: { runId: string }) => r.runId === runId)).toMatchObject({ status: "failed", interrupted: true });

    const resumed = await project.orch(["run", "resume", runId, "--json"], { env: { TRACE: trace } });
    expect(resumed.code, resumed.stderr).toBe(0);
    const out = JSON.parse(resumed.stdout);
    expect(out.status).toBe("succeeded");
    expect(out.steps).toHaveLength(FAN + 2);
    expect(out.steps.every((s: { status: string }) => s.status === "succeeded")).toBe(true);

    // Every step ran; a step that had finished before the kill ran exactly once (only a step that was
    // mid-flight when the process died may have run twice).
    const runs = new Map<string, number>();
    for (const id of traced()) runs.set(id, (runs.get(id) ?? 0) + 1);
    expect(runs.size).toBe(FAN + 2);
    for (const id of finished) expect(runs.get(id), id).toBe(1);
    // The resume ran exactly the steps without a final record.
    expect(traced().length - ranBefore).toBe(FAN + 2 - finished.length);
    expect(finishedSteps(runId)).toHaveLength(FAN + 2);
  });
});
