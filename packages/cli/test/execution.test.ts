// Regression tests for issue 9: items 8 (the CLI exits when the run is over), 9 (timeouts end
// synchronous work; stop and Ctrl-C end a busy loop) and 12 (a step's console output lands in its log).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, journalRecords, waitFor, type Result, type TempProject } from "./harness.js";

let project: TempProject;
let trace: string;

beforeAll(async () => {
  project = createProject("execution");
  project.write(
    "src/leftovers.ts",
    `import { step, pipeline } from "@orch/core";
// A "DB pool" the step leaves behind: an interval that never ends.
export const connect = step({ name: "connect", cache: false }, async () => { setInterval(() => {}, 1000); return "connected"; });
export const leftovers = pipeline({ name: "leftovers" }, () => { connect(); });
`,
  );
  project.write(
    "src/timeouts.ts",
    `import { step, pipeline } from "@orch/core";
import { appendFileSync } from "node:fs";
const busyFor = (ms: number) => { const end = Date.now() + ms; while (Date.now() < end) {} };
// Awaits a 30 s timer and ignores its abort signal.
export const sleepy = step({ name: "sleepy", timeout: 1, cache: false }, async () => { await new Promise((r) => setTimeout(r, 30_000)); return 1; });
export const sleeper = pipeline({ name: "sleeper" }, () => { sleepy(); });
// 3 s of synchronous work against a 1 s timeout.
export const busy = step({ name: "busy", timeout: 1, cache: false }, () => { busyFor(3_000); return 1; });
export const busywork = pipeline({ name: "busywork" }, () => { busy(); });
export const spin = step({ name: "spin", timeout: 1, cache: false }, () => { for (;;) {} });
export const spinner = pipeline({ name: "spinner" }, () => { spin(); });
// Busy-loops with a far timeout (runs in a worker): only a stop can end it.
export const longSpin = step({ name: "long_spin", timeout: 600, cache: false }, () => { appendFileSync(process.env.TRACE!, "long_spin\\n"); for (;;) {} });
export const longSpinner = pipeline({ name: "long_spinner" }, () => { longSpin(); });
// Busy-loops in-process (no timeout): the CLI's main thread is blocked.
export const hang = step({ name: "hang", cache: false }, () => { appendFileSync(process.env.TRACE!, "hang\\n"); for (;;) {} });
export const after = step({ name: "after", cache: false }, (x: number) => x);
export const hanging = pipeline({ name: "hanging" }, () => { after(hang()); });
`,
  );
  project.write(
    "src/talk.ts",
    `import { step, pipeline } from "@orch/core";
export const talk = step({ name: "talk", cache: false }, async (who: string) => {
  for (let i = 0; i < 3; i++) { console.log(who + " says " + i); await new Promise((r) => setTimeout(r, 10)); }
  console.error(who + " complains");
  return who;
});
export const talkers = pipeline({ name: "talkers" }, () => { talk("alice"); talk("bob"); });
`,
  );
  trace = join(project.dir, "trace.txt");
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

/** Runs orch, killing it if it has not ended by itself within `limitMs` (a generous bound: it proves "it ended"). */
async function orchWithin(args: string[], limitMs = 25_000): Promise<Result & { ended: boolean }> {
  const child = project.start(args, { env: { TRACE: trace } });
  let ended = true;
  const timer = setTimeout(() => {
    ended = false;
    child.kill("SIGKILL");
  }, limitMs);
  const result = await child.result;
  clearTimeout(timer);
  return { ...result, ended };
}

const journal = (runId: string, file: string) => JSON.parse(readFileSync(join(project.dir, ".orch", "artifacts", "runs", runId, file), "utf8"));
const lastRun = async (pipeline: string) => (await project.json(["run", "list", "--json", "--pipeline", pipeline]))[0];

describe("orch pipeline run exits when the run is over", () => {
  it("exits although a step left an interval running", async () => {
    const result = await orchWithin(["pipeline", "run", "src/leftovers.ts"]);
    expect(result.ended, "orch pipeline run did not exit").toBe(true);
    expect(result.code, result.stderr).toBe(0);
    expect((await lastRun("leftovers")).status).toBe("succeeded");
  });

  it("exits right after a timed-out step that awaited a 30 s timer", async () => {
    const result = await orchWithin(["pipeline", "run", "src/timeouts.ts#sleeper"], 20_000);
    expect(result.ended, "orch pipeline run did not exit").toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/step sleepy failed: Step "sleepy" attempt 1 timed out after 1s/);
  });
});

describe("step timeouts on synchronous work", () => {
  it("fails a step whose synchronous work outlasts its timeout", async () => {
    const result = await orchWithin(["pipeline", "run", "src/timeouts.ts#busywork"]);
    expect(result.code).toBe(1);
    const run = await lastRun("busywork");
    expect(journalRecords(join(project.dir, ".orch", "artifacts"), run.runId).get("busy")).toMatchObject({ status: "failed", error: { code: "E_STEP_TIMEOUT" } });
  });

  it("ends a for(;;) step with timeout 1", async () => {
    const result = await orchWithin(["pipeline", "run", "src/timeouts.ts#spinner"], 20_000);
    expect(result.ended, "the for(;;) step never ended").toBe(true);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/step spin failed: Step "spin" attempt 1 timed out after 1s/);
  });
});

describe("steps with a timeout run in a worker thread", () => {
  it("loads the step in its worker even when its module runs the pipeline at top level, and runs nothing twice", async () => {
    project.write(
      "src/script.ts",
      `import { step, pipeline } from "@orch/core";
import { appendFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
appendFileSync(process.env.TRACE!, "module loaded\\n");
const first = step({ name: "first", cache: false }, () => 20);
const where = step({ name: "where", timeout: 30, cache: false }, (x: number) => { appendFileSync(process.env.TRACE!, "where ran\\n"); return { x: x + 1, isMainThread }; });
const report = step({ name: "report", cache: false }, (v: unknown) => { appendFileSync(process.env.TRACE!, "report " + JSON.stringify(v) + "\\n"); });
export const script = pipeline({ name: "script" }, () => { report(where(first())); });
const result = await script.run();
appendFileSync(process.env.TRACE!, "run " + result.status + "\\n");
`,
    );
    writeFileSync(trace, "");
    const result = await orchWithin(["pipeline", "run", "src/script.ts"]);
    expect(result.code, result.stderr).toBe(0);
    // Loaded by the CLI, then by the step's worker (whose nested run() is parked); the run happened once.
    expect(readFileSync(trace, "utf8")).toBe('module loaded\nmodule loaded\nwhere ran\nreport {"x":21,"isMainThread":false}\nrun succeeded\n');
  });
});

describe("stopping a run whose step busy-loops", () => {
  it("Ctrl-C (SIGINT) stops a run whose step (with a timeout) busy-loops", async () => {
    writeFileSync(trace, "");
    const child = project.start(["pipeline", "run", "src/timeouts.ts#longSpinner"], { env: { TRACE: trace } });
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000); // never leave a spinning process behind
    const result = await (async () => {
      await waitFor(() => readFileSync(trace, "utf8").includes("long_spin"), "the step to start");
      child.kill("SIGINT");
      return child.result;
    })().finally(() => clearTimeout(timer));
    expect(result.code, result.stderr).toBe(1);
    const run = await lastRun("long_spinner");
    expect(run.status).toBe("stopped");
    expect(journalRecords(join(project.dir, ".orch", "artifacts"), run.runId).get("long_spin")?.status).toBe("stopped");
  });

  it("orch run stop ends a run whose step busy-loops in-process, recording it stopped", async () => {
    writeFileSync(trace, "");
    const child = project.start(["pipeline", "run", "src/timeouts.ts#hanging"], { env: { TRACE: trace } });
    let runId: string;
    try {
      await waitFor(() => existsSync(trace) && readFileSync(trace, "utf8").includes("hang"), "the step to start");
      runId = (await lastRun("hanging")).runId;
      const stop = await project.orch(["run", "stop", runId, "--grace", "1"]);
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toMatch(new RegExp(`Run ${runId} stopped`));
      expect(stop.stderr).toMatch(/did not end within 1s of SIGINT .* and was killed/);
      expect(child.exitCode ?? child.signalCode, "the run's process is still alive").not.toBeNull();
    } finally {
      child.kill("SIGKILL"); // never leave a spinning process behind, whatever failed above
    }
    const shown = await project.json(["run", "show", runId, "--json"]);
    expect(shown.run.status).toBe("stopped");
    expect(shown.steps.map((s: any) => [s.id, s.status])).toEqual([["hang", "stopped"], ["after", "stopped"]]);
    expect(journal(runId, "run.json")).toMatchObject({ status: "stopped", error: { code: "E_CANCELLED" } });
    expect(journal(runId, "run.json").error.message).toMatch(/did not end within 1s of SIGINT/);
  });

  it("refuses a --grace that is not a number of seconds", async () => {
    const result = await project.orch(["run", "stop", "nope", "--grace", "soon"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--grace must be a number of seconds/);
  });
});

describe("step output", () => {
  it("puts each parallel step's console.log and console.error in its own log, and still shows them", async () => {
    const result = await orchWithin(["pipeline", "run", "src/talk.ts"]);
    expect(result.code, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/alice says 2/);
    const { runId } = await lastRun("talkers");
    const logs = await project.orch(["run", "logs", runId, "--step", "talk_2"]);
    expect(logs.stdout).toMatch(/OUT   bob says 0\n.*OUT   bob says 1\n.*OUT   bob says 2\n/s);
    expect(logs.stdout).toMatch(/ERR   bob complains/);
    expect(logs.stdout).not.toMatch(/alice/);
    const alice = await project.orch(["run", "logs", runId, "--step", "talk"]);
    expect(alice.stdout).toMatch(/OUT   alice says 2/);
    expect(alice.stdout).not.toMatch(/bob/);
  });
});
