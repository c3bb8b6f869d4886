import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATED_PIPELINE, SIMPLE_PIPELINE, createProject, journalRecords, waitFor, type TempProject } from "./harness.js";

let project: TempProject;
let trace: string;
let gate: string;

beforeAll(async () => {
  project = createProject("runs");
  project.write("src/demo.ts", SIMPLE_PIPELINE);
  project.write("src/gated.ts", GATED_PIPELINE);
  project.write(
    "src/failing.ts",
    `import { step, pipeline } from "@orch/core";
export const ok = step({ name: "ok" }, async () => 1);
export const boom = step({ name: "boom" }, async (x: number) => { getLogger(); throw new Error("boom " + x); });
function getLogger() { console.error("about to fail"); }
export const failing = pipeline({ name: "failing" }, () => { boom(ok()); });
`,
  );
  project.write(
    "src/params.ts",
    `import { step, pipeline, z } from "@orch/core";
export const echo = step({ name: "echo" }, async (n: number, label: string) => \`\${label}:\${n}\`);
export const params = pipeline({ name: "params", params: z.object({ n: z.number(), label: z.string().default("x") }) }, (p) => { echo(p.n, p.label); });
`,
  );
  project.write(
    "src/logging.ts",
    `import { step, pipeline, getStepContext } from "@orch/core";
import { appendFileSync, existsSync } from "node:fs";
export const talk = step({ name: "talk", cache: false }, async () => {
  const { logger } = getStepContext();
  logger.info("before the gate");
  appendFileSync(process.env.TRACE!, "waiting\\n");
  while (!existsSync(process.env.GATE!)) await new Promise((r) => setTimeout(r, 50));
  logger.info("after the gate");
  return 1;
});
export const logging = pipeline({ name: "logging" }, () => { talk(); });
`,
  );
  trace = join(project.dir, "trace.txt");
  gate = join(project.dir, "gate");
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    console.warn("skipping the terminal live-view test: util-linux `script` (to get a pseudo-terminal) is not installed");
    return false;
  }
})();
const env = () => ({ TRACE: trace, GATE: gate });
const traceLines = () => (existsSync(trace) ? readFileSync(trace, "utf8").trim().split("\n") : []);
const stepRecord = (runId: string, stepId: string) => journalRecords(join(project.dir, ".orch", "artifacts"), runId).get(stepId);

describe("crash safety", () => {
  it("shows a run whose process was killed (kill -9) as failed/interrupted, and resume completes it without re-running finished steps", async () => {
    writeFileSync(trace, "");
    const child = project.start(["pipeline", "run", "src/gated.ts"], { env: env() });
    await waitFor(() => traceLines().includes("second"), "the second step to start");
    const running = await project.json(["run", "list", "--json"]);
    expect(running[0]).toMatchObject({ pipeline: "gated", status: "running", pid: child.pid });
    const runId: string = running[0].runId;
    const firstBefore = stepRecord(runId, "first");

    child.kill("SIGKILL");
    await child.result;

    const after = await project.json(["run", "list", "--json"]);
    expect(after[0]).toMatchObject({ runId, status: "failed", interrupted: true, displayStatus: "failed (interrupted)" });
    const runJson = JSON.parse(readFileSync(join(project.dir, ".orch", "artifacts", "runs", runId, "run.json"), "utf8"));
    expect(runJson).toMatchObject({ status: "failed", error: { code: "E_INTERRUPTED" } });
    expect((await project.orch(["run", "list"])).stdout).toMatch(/gated\s+default\s+failed \(interrupted\)/);

    writeFileSync(gate, "open");
    const resumed = await project.orch(["run", "resume", runId], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/reusing first/);

    // first ran once (its record is the one from before the crash); second ran again, third ran once.
    expect(traceLines()).toEqual(["first", "second", "second", "third"]);
    expect(stepRecord(runId, "first")).toEqual(firstBefore);
    const shown = await project.json(["run", "show", runId, "--json"]);
    expect(shown.run).toMatchObject({ runId, status: "succeeded", interrupted: false });
    expect(shown.steps.map((s: any) => [s.id, s.status])).toEqual([["first", "succeeded"], ["second", "succeeded"], ["third", "succeeded"]]);
    expect(shown.steps.find((s: any) => s.id === "first").startedAt).toBe(firstBefore!.startedAt);
    expect(shown.steps.find((s: any) => s.id === "third").upstream).toEqual(["second"]);
  });

  it("stops a running run (orch run stop) and resumes it to success", async () => {
    writeFileSync(trace, "");
    rmSync(gate, { force: true });
    const child = project.start(["pipeline", "run", "src/gated.ts"], { env: env() });
    await waitFor(() => traceLines().includes("second"), "the second step to start");
    const [{ runId }] = await project.json(["run", "list", "--json", "--pipeline", "gated"]);
    const stop = await project.orch(["run", "stop", runId]);
    expect(stop.code, stop.stderr).toBe(0);
    const ended = await child.result;
    expect(ended.code).toBe(1);
    const [stopped] = await project.json(["run", "list", "--json", "--pipeline", "gated"]);
    expect(stopped).toMatchObject({ runId, status: "stopped" });
    writeFileSync(gate, "open");
    const resumed = await project.orch(["run", "resume", runId, "--json"], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runId, status: "succeeded", reused: ["first"] });
    expect(traceLines().filter((l) => l === "first")).toHaveLength(1);
  });
});

describe("concurrency", () => {
  it("records 8 concurrent `orch pipeline run` in one project, all succeeded, no 'database is locked'", async () => {
    const before = (await project.json(["run", "list", "--json", "--all"])).length;
    const children = Array.from({ length: 8 }, (_, i) => project.start(["pipeline", "run", "src/params.ts", "--param", `n=${i}`]));
    const results = await Promise.all(children.map((c) => c.result));
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/locked|SQLITE_BUSY/i);
    }
    const runs = await project.json(["run", "list", "--json", "--all"]);
    expect(runs.length - before).toBe(8);
    const mine = runs.filter((r: any) => r.pipeline === "params");
    expect(mine).toHaveLength(8);
    expect(mine.every((r: any) => r.status === "succeeded" && r.stepCounts.succeeded + (r.stepCounts.cached ?? 0) === 1)).toBe(true);
    expect(new Set(mine.map((r: any) => r.parameters.n))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
  });
});

describe("runs", () => {
  it("exits 1 when the run fails, and shows the failed step in show and logs", async () => {
    const result = await project.orch(["pipeline", "run", "src/failing.ts"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/step boom failed: boom 1/);
    const [run] = await project.json(["run", "list", "--json", "--pipeline", "failing"]);
    expect(run.status).toBe("failed");
    const show = await project.orch(["run", "show", run.runId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/✓ ok\s+succeeded/);
    expect(show.stdout).toMatch(/└─✗ boom\s+failed\s+\S+\s+← ok/);
    const logs = await project.orch(["run", "logs", run.runId, "--step", "boom"]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/boom 1/);
  });

  it("follows the logs of a running run until it ends", async () => {
    writeFileSync(trace, "");
    rmSync(gate, { force: true });
    const child = project.start(["pipeline", "run", "src/logging.ts"], { env: env() });
    await waitFor(() => traceLines().includes("waiting"), "the step to start");
    const [{ runId }] = await project.json(["run", "list", "--json", "--pipeline", "logging"]);
    const follow = project.start(["run", "logs", runId, "--follow"]);
    await waitFor(() => existsSync(join(project.dir, ".orch", "artifacts", "runs", runId, "logs", "talk.log")), "the step log");
    writeFileSync(gate, "open");
    expect((await child.result).code).toBe(0);
    const logs = await follow.result;
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/talk \| .*before the gate/);
    expect(logs.stdout).toMatch(/talk \| .*after the gate/);
  });

  it("records a pipeline.run() made at the top level of the file, on the active stack, without running it twice", async () => {
    project.write("src/toplevel.ts", `import { step, pipeline } from "@orch/core";\nimport { appendFileSync } from "node:fs";\nconst a = step({ name: "a", cache: false }, async () => { appendFileSync(process.env.TRACE!, "top\\n"); return 1; });\nexport const top = pipeline({ name: "top" }, () => { a(); });\nawait top.run();\n`);
    writeFileSync(trace, "");
    const result = await project.orch(["pipeline", "run", "src/toplevel.ts"], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/ran its pipeline\(s\) itself/);
    expect(traceLines()).toEqual(["top"]);
    const [run] = await project.json(["run", "list", "--json", "--pipeline", "top"]);
    expect(run).toMatchObject({ status: "succeeded", stack: "default", stepCounts: { succeeded: 1 } });
  });

  it("resumes a failed dynamic pipeline, reusing the steps it discovered and finished", async () => {
    project.write(
      "src/dynamic.ts",
      `import { step, pipeline } from "@orch/core";
import { appendFileSync, existsSync } from "node:fs";
const count = step({ name: "count", cache: false }, async () => { appendFileSync(process.env.TRACE!, "count\\n"); return 3; });
const work = step({ name: "work", cache: false }, async (i: number) => {
  appendFileSync(process.env.TRACE!, "work" + i + "\\n");
  if (i === 2 && !existsSync(process.env.GATE!)) throw new Error("not yet");
  return i;
});
export const fanout = pipeline({ name: "fanout", dynamic: true }, async () => {
  const n = await count().load();
  for (let i = 0; i < n; i++) work(i);
});
`,
    );
    writeFileSync(trace, "");
    rmSync(gate, { force: true });
    const failed = await project.orch(["pipeline", "run", "src/dynamic.ts"], { env: env() });
    expect(failed.code).toBe(1);
    const [{ runId }] = await project.json(["run", "list", "--json", "--pipeline", "fanout"]);
    writeFileSync(gate, "open");
    const resumed = await project.orch(["run", "resume", runId], { env: env() });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(traceLines().filter((l) => l === "count")).toHaveLength(1);
    expect(traceLines().filter((l) => l === "work2")).toHaveLength(2);
    const shown = await project.json(["run", "show", runId, "--json"]);
    expect(shown.steps.map((s: any) => [s.id, s.status])).toEqual([["count", "succeeded"], ["work", "succeeded"], ["work_2", "succeeded"], ["work_3", "succeeded"]]);
  });

  it("takes parameters from --config YAML, overridden by --param", async () => {
    project.write("run.yaml", "parameters:\n  n: 5\n  label: yaml\n");
    const result = await project.orch(["pipeline", "run", "src/params.ts", "--config", "run.yaml", "--param", "label=cli", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ status: "succeeded", pipeline: "params" });
    const shown = await project.json(["run", "show", out.runId, "--json"]);
    expect(shown.run.parameters).toEqual({ n: 5, label: "cli" });
  });

  it.skipIf(!hasScript)("live view on a terminal redraws one line per step in place", async () => {
    const result = await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "20260101-000000-000-ttyrun"], {
      wrap: (args) => ["script", ["-qec", args.map((a) => `'${a}'`).join(" "), "/dev/null"]],
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\u001b\[2K.*(load|sum)/);
    expect(result.stdout).toMatch(/\u001b\[\d+A/);
    expect(result.stdout).toMatch(/Run 20260101-000000-000-ttyrun succeeded/);
  });

  it("plain (non-TTY) live view prints one line per step state", async () => {
    const result = await project.orch(["pipeline", "run", "src/demo.ts"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/load\s+running/);
    expect(result.stderr).toMatch(/(✓ sum\s+done|↺ sum\s+cached)/);
    expect(result.stderr).not.toMatch(/\u001b\[/);
  });

  it("lists pipelines, filters runs, and deletes a run with its journal", async () => {
    const pipelines = await project.json(["pipeline", "list", "--json"]);
    expect(pipelines.map((p: any) => p.name)).toEqual(expect.arrayContaining(["demo", "failing", "gated", "params"]));
    expect(pipelines.find((p: any) => p.name === "demo")).toMatchObject({ sourceFile: "src/demo.ts", exportName: "demo" });
    const failed = await project.json(["run", "list", "--json", "--status", "failed"]);
    expect(failed.every((r: any) => r.status === "failed")).toBe(true);
    const [run] = await project.json(["run", "list", "--json", "--pipeline", "demo", "-n", "1"]);
    expect((await project.orch(["run", "delete", run.runId])).code).toBe(0);
    expect(existsSync(join(project.dir, ".orch", "artifacts", "runs", run.runId))).toBe(false);
    const missing = await project.orch(["run", "show", run.runId]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: Run ".*" is not in this project's index\.\nhint: /);
  });
});
