import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, journalRecords, type TempProject } from "./harness.js";

// Artifacts that a resumed run or a cache hit would reuse are checked first; a deleted, truncated or
// changed one makes orch compute the step again instead of failing forever (or loading bad data).
let project: TempProject;
let trace: string;
let gate: string;

beforeAll(async () => {
  project = createProject("artifact-integrity");
  project.write(
    "src/chain.ts",
    `import { step, pipeline } from "@orch/core";
import { appendFileSync, existsSync } from "node:fs";
export const first = step({ name: "first" }, async () => { appendFileSync(process.env.TRACE!, "first\\n"); return { rows: [1, 2, 3] }; });
export const second = step({ name: "second" }, async (data: { rows: number[] }) => {
  appendFileSync(process.env.TRACE!, "second\\n");
  if (!existsSync(process.env.GATE!)) throw new Error("gate closed");
  return data.rows.reduce((a, b) => a + b, 0);
});
export const chain = pipeline({ name: "chain", cache: false }, () => { second(first()); });
export const cachedChain = pipeline({ name: "cached_chain" }, () => { second(first()); });
`,
  );
  trace = join(project.dir, "trace.txt");
  gate = join(project.dir, "gate");
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

const env = () => ({ TRACE: trace, GATE: gate });
const traceLines = () => (existsSync(trace) ? readFileSync(trace, "utf8").trim().split("\n") : []);
const artifactsDir = () => join(project.dir, ".orch", "artifacts");
const stepRecord = (runId: string, stepId: string) => journalRecords(artifactsDir(), runId).get(stepId)!;
const dataFile = (artifactId: string) => join(artifactsDir(), "artifacts", artifactId);

/** Runs the pipeline with the gate closed: `first` succeeds, `second` fails. Returns the run id. */
async function failedRun(): Promise<string> {
  rmSync(gate, { force: true });
  writeFileSync(trace, "");
  const result = await project.orch(["pipeline", "run", "src/chain.ts#chain", "--json"], { env: env() });
  expect(result.code).toBe(1);
  return JSON.parse(result.stdout).runId;
}

describe("resume", () => {
  it.each([
    ["deleted", (id: string) => rmSync(join(artifactsDir(), "artifacts", id), { recursive: true })],
    ["truncated", (id: string) => writeFileSync(dataFile(id), readFileSync(dataFile(id)).subarray(0, 5))],
    ["changed (same size)", (id: string) => writeFileSync(dataFile(id), readFileSync(dataFile(id), "utf8").replace("[1,2,3]", "[7,8,9]"))],
  ])("recomputes a finished step whose artifact was %s, and the run completes", async (_what, damage) => {
    const runId = await failedRun();
    expect(traceLines()).toEqual(["first", "second"]);
    damage(stepRecord(runId, "first").outputs.output!.artifactId);

    writeFileSync(gate, "open");
    const resumed = await project.orch(["run", "resume", runId, "--json"], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    // `first` ran again, so the resume does not claim to have reused it.
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runId, status: "succeeded", reused: [] });
    expect(traceLines()).toEqual(["first", "second", "first", "second"]);
    const log = readFileSync(join(artifactsDir(), "runs", runId, "logs", "first.log"), "utf8");
    expect(log).toMatch(/resume: not reusing the earlier result of this step: output "output": .*; running it again/);
    const shown = await project.json(["run", "show", runId, "--json"]);
    expect(shown.steps.map((s: any) => [s.id, s.status])).toEqual([["first", "succeeded"], ["second", "succeeded"]]);
  });
});

describe("cache", () => {
  it("recomputes a cached step whose artifact changed on disk instead of reusing it", async () => {
    writeFileSync(gate, "open");
    const run = async () => {
      const result = await project.orch(["pipeline", "run", "src/chain.ts#cachedChain", "--json"], { env: env() });
      expect(result.code, result.stderr).toBe(0);
      const json = JSON.parse(result.stdout);
      return { runId: json.runId as string, statuses: json.steps.map((s: any) => s.status) };
    };
    const { runId } = await run();
    expect((await run()).statuses).toEqual(["cached", "cached"]);
    const id = stepRecord(runId, "first").outputs.output!.artifactId;
    writeFileSync(dataFile(id), readFileSync(dataFile(id), "utf8").replace("[1,2,3]", "[1,2,9]"));
    const again = await run();
    expect(again.statuses[0]).toBe("succeeded");
    expect(readdirSync(join(artifactsDir(), "runs", again.runId, "logs"))).toContain("first.log");
    expect(readFileSync(join(artifactsDir(), "runs", again.runId, "logs", "first.log"), "utf8")).toMatch(/not reused: artifact .* does not match the content hash/);
  });
});
