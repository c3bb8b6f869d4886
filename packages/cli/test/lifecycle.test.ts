/**
 * Run lifecycle through the real `orch` binary: one owner per run, run ids, runs that cannot start,
 * runs whose process is gone, runs started without the CLI, a damaged or read-only index.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openIndex } from "@orch/store-sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, GATED_PIPELINE, SIMPLE_PIPELINE, cliEnv, createProject, waitFor, type Result, type TempProject } from "./harness.js";

let project: TempProject;
let trace: string;
let gate: string;

beforeAll(async () => {
  project = createProject("lifecycle");
  project.write("src/demo.ts", SIMPLE_PIPELINE);
  project.write("src/gated.ts", GATED_PIPELINE);
  project.write(
    "src/other.ts",
    `import { step, pipeline } from "@orch/core";
export const lonely = step({ name: "lonely" }, async () => 1);
export const other = pipeline({ name: "other" }, () => { lonely(); });
`,
  );
  trace = join(project.dir, "trace.txt");
  gate = join(project.dir, "gate");
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

const env = () => ({ TRACE: trace, GATE: gate });
const traceLines = () => (existsSync(trace) ? readFileSync(trace, "utf8").trim().split("\n").filter(Boolean) : []);
const runDir = (runId: string) => join(project.dir, ".orch", "artifacts", "runs", runId);
const runs = () => project.json<any[]>(["run", "list", "--json", "--all"]);

describe("one owner per run", () => {
  it("lets only one of two concurrent `orch run resume` proceed; the other is refused with the owner's pid (exit 2)", async () => {
    writeFileSync(trace, "");
    rmSync(gate, { force: true });
    const child = project.start(["pipeline", "run", "src/gated.ts"], { env: env() });
    await waitFor(() => traceLines().includes("second"), "the second step to start");
    const [{ runId }] = await project.json(["run", "list", "--json", "--pipeline", "gated"]);
    child.kill("SIGKILL");
    await child.result;
    writeFileSync(trace, "");

    const a = project.start(["run", "resume", runId], { env: env() });
    const b = project.start(["run", "resume", runId], { env: env() });
    try {
      const refused = await Promise.race([a.result.then((r) => ({ r, other: b })), b.result.then((r) => ({ r, other: a }))]);
      expect(refused.r.code, refused.r.stderr).toBe(2);
      expect(refused.r.stderr).toMatch(/pid \d+/);
      await waitFor(() => traceLines().includes("second"), "the owner to run the second step");

      // a resume of a run that is running now is refused as well, naming the owner
      const third = await project.orch(["run", "resume", runId], { env: env() });
      expect(third.code).toBe(2);
      expect(third.stderr).toMatch(/still running \(owned by pid \d+/);

      writeFileSync(gate, "open");
      const owner = await refused.other.result;
      expect(owner.code, owner.stderr).toBe(0);
      // each step after the crash ran once: nobody ran the second step twice
      expect(traceLines()).toEqual(["second", "third"]);
      expect(existsSync(join(runDir(runId), "owner.lock"))).toBe(false);
    } finally {
      a.kill("SIGKILL");
      b.kill("SIGKILL");
    }
  });
});

describe("--run-id", () => {
  it.each([
    ["empty", ""],
    ["a slash", "team/run1"],
    ["..", ".."],
    ["a space", "a b"],
    ["shell syntax", "$(id)"],
    ["1000 characters", "x".repeat(1000)],
    ["a leading dash", "-x"],
  ])("refuses a run id with %s (exit 2) and creates nothing", async (_what, runId) => {
    const before = (await runs()).length;
    const result = await project.orch(["pipeline", "run", "src/demo.ts", `--run-id=${runId}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: Invalid run id/);
    expect(result.stderr).toMatch(/hint: /);
    expect(result.stderr.length).toBeLessThan(1000);
    expect(await runs()).toHaveLength(before);
    expect(existsSync(join(project.dir, ".orch", "artifacts", "runs", "team"))).toBe(false);
  });

  it("refuses an id that is already taken (exit 2) and leaves that run's journal alone", async () => {
    expect((await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "nightly-1"])).code).toBe(0);
    const again = await project.orch(["pipeline", "run", "src/other.ts", "--run-id", "nightly-1"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already taken/);
    expect(again.stderr).toMatch(/hint: .*orch run resume nightly-1/);
    const shown = await project.json(["run", "show", "nightly-1", "--json"]);
    expect(shown.run.pipeline).toBe("demo");
    expect(shown.steps.map((s: any) => s.id)).toEqual(["load", "sum"]);
  });
});

/** Registers a stack `name` whose orchestrator is the flaky test plugin in `mode` (once per project). */
async function flakyStack(name: string, mode: "unreachable" | "detached"): Promise<void> {
  const stacks = await project.json<any[]>(["stack", "list", "--json"]);
  if (stacks.some((s) => s.name === name)) return;
  const plugin = project.write("plugins/flaky-backend.mjs", FLAKY_PLUGIN);
  expect((await project.orch(["orchestrator", "register", name, "--flavor", "flaky", `--package=${plugin}`, `--mode=${mode}`])).code).toBe(0);
  expect((await project.orch(["stack", "register", name, "-o", name])).code).toBe(0);
}

describe("runs that cannot start", () => {
  it("refuses an artifact store below a regular file before creating the run (exit 2), naming the file", async () => {
    project.write("afile", "not a folder");
    expect((await project.orch(["artifact-store", "register", "below_file", "--flavor", "local", `--path=${join(project.dir, "afile", "artifacts")}`])).code).toBe(0);
    expect((await project.orch(["stack", "register", "below_file", "-o", "default", "-a", "below_file"])).code).toBe(0);
    const result = await project.orch(["pipeline", "run", "src/demo.ts", "--stack", "below_file"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/which is a file, not a folder/);
    expect((await runs()).filter((r) => r.status === "running")).toEqual([]);
  });

  it("refuses an artifact store under /proc at once instead of spinning forever", async () => {
    expect((await project.orch(["artifact-store", "register", "procfs", "--flavor", "local", "--path=/proc/orch-artifacts"])).code).toBe(0);
    expect((await project.orch(["stack", "register", "procfs", "-o", "default", "-a", "procfs"])).code).toBe(0);
    const result = await project.orch(["pipeline", "run", "src/demo.ts", "--stack", "procfs"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: Local artifact store path \/proc\/orch-artifacts is under \/proc/);
    expect((await runs()).filter((r) => r.status === "running")).toEqual([]);
  }, 60_000);

  it("ends a run whose backend is unreachable as failed with the reason, not running forever", async () => {
    await flakyStack("offline", "unreachable");
    const result = await project.orch(["pipeline", "run", "src/demo.ts", "--stack", "offline", "--run-id", "offline-1"]);
    expect(result.code).toBe(1); // the backend, not the configuration: exit 1 (exit 2 is for what the user must fix)
    expect(result.stderr).toMatch(/cannot reach the flaky API/);
    const [run] = (await runs()).filter((r) => r.runId === "offline-1");
    expect(run).toMatchObject({ status: "failed", error: { message: expect.stringMatching(/cannot reach the flaky API/), code: "E_BACKEND_UNAVAILABLE" } });
    // the journal says so too
    expect(JSON.parse(readFileSync(join(runDir("offline-1"), "run.json"), "utf8"))).toMatchObject({ status: "failed", error: { code: "E_BACKEND_UNAVAILABLE" } });
  });

  it("does not block its schedule in `orch schedule serve`: the next run starts", async () => {
    project.write(
      "src/every.ts",
      `import { step, pipeline } from "@orch/core";
export const beat = step({ name: "beat" }, async () => 1);
export const heartbeat = pipeline({ name: "heartbeat", schedule: { intervalSeconds: 1 } }, () => { beat(); });
`,
    );
    await flakyStack("offline", "unreachable");
    expect((await project.orch(["pipeline", "run", "src/every.ts", "--stack", "offline"])).code).toBe(0);
    const serve = project.start(["schedule", "serve", "--poll", "100"]);
    try {
      const failed = await waitFor(async () => {
        const done = (await runs()).filter((r) => r.pipeline === "heartbeat" && r.status === "failed");
        return done.length >= 2 ? done : undefined;
      }, "two failed runs of the schedule", 60_000);
      for (const run of failed) expect(run.error.message).toMatch(/cannot reach the flaky API/);
    } finally {
      serve.kill("SIGINT");
      await serve.result;
    }
    expect((await project.orch(["schedule", "delete", "heartbeat@offline"])).code).toBe(0);
  }, 90_000);

  it("asks the plugin's status() about a run executing elsewhere", async () => {
    await flakyStack("remote", "detached");
    await project.orch(["pipeline", "run", "src/demo.ts", "--stack", "remote", "--run-id", "remote-1"]);
    expect((await runs()).find((r) => r.runId === "remote-1")).toMatchObject({ status: "running" });
    writeFileSync(join(project.dir, "status-remote-1"), "failed");
    expect((await runs()).find((r) => r.runId === "remote-1")).toMatchObject({ status: "failed" });
  });
});

describe("runs whose process is gone", () => {
  /** A journal-only run that claims to be driven by `pid` (started at `startTime`). */
  function ghostRun(runId: string, pid: number, startTime: string) {
    const dir = runDir(runId);
    mkdirSync(join(dir, "steps"), { recursive: true });
    const at = new Date().toISOString();
    writeFileSync(join(dir, "run.json"), JSON.stringify({ runId, pipeline: "demo", pipelineHash: "h", status: "running", startedAt: at, parameters: {}, host: spawnSync("hostname").stdout.toString().trim(), pid, pidStartTime: startTime }));
    writeFileSync(join(dir, "steps", "load.json"), JSON.stringify({ runId, stepId: "load", name: "load", status: "running", attempts: 1, outputs: {}, metadata: {} }));
  }

  it("shows a running run whose pid now belongs to another process as failed (interrupted)", async () => {
    const stranger = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      ghostRun("ghost-1", stranger.pid!, "1");
      const run = (await runs()).find((r) => r.runId === "ghost-1");
      expect(run).toMatchObject({ status: "failed", interrupted: true });
      expect(JSON.parse(readFileSync(join(runDir("ghost-1"), "run.json"), "utf8"))).toMatchObject({ status: "failed", interrupted: true });
    } finally {
      stranger.kill();
    }
  });

  it("stops a run whose process is gone at once, without signalling the reused pid, and can then delete it", async () => {
    const stranger = spawn(process.execPath, ["-e", "process.on('SIGINT', () => { require('fs').writeFileSync(process.argv[1], 'signalled'); process.exit(0); }); setTimeout(() => {}, 60000)", join(project.dir, "stranger.txt")]);
    try {
      ghostRun("ghost-2", stranger.pid!, "1");
      const stop = await project.orch(["run", "stop", "ghost-2"]);
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toMatch(/Run ghost-2 stopped/);
      expect(JSON.parse(readFileSync(join(runDir("ghost-2"), "run.json"), "utf8")).status).toBe("stopped");
      expect(existsSync(join(project.dir, "stranger.txt"))).toBe(false);
      expect((await project.orch(["run", "delete", "ghost-2"])).code).toBe(0);
      expect(existsSync(runDir("ghost-2"))).toBe(false);
    } finally {
      stranger.kill();
    }
  });
});

describe("run id prefixes and order", () => {
  it.each([["delete"], ["show"], ["stop"], ["logs"]])("`orch run %s` refuses an empty or blank id (exit 2) and touches nothing", async (verb) => {
    const before = await runs();
    for (const id of ["", "  "]) {
      const result = await project.orch(["run", verb, id]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/is empty/);
    }
    expect(await runs()).toEqual(before);
  });

  it("refuses an ambiguous prefix, listing the runs it matches", async () => {
    const a = await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "batch-a"]);
    const b = await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "batch-b"]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const result = await project.orch(["run", "delete", "batch"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/matches several runs: batch-b, batch-a/);
    expect((await runs()).filter((r) => r.runId.startsWith("batch"))).toHaveLength(2);
  });

  it("lists runs newest first by start time, so custom ids do not always come first", async () => {
    expect((await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "zzz-older"])).code).toBe(0);
    expect((await project.orch(["pipeline", "run", "src/demo.ts"])).code).toBe(0);
    const listed = await runs();
    expect(listed[1].runId).toBe("zzz-older");
    expect(listed[0].runId).toMatch(/^\d{8}-/);
    const starts = listed.map((r) => r.startedAt);
    expect([...starts].sort().reverse()).toEqual(starts);
  });
});

describe("runs started without the CLI", () => {
  it("shows runs of pipeline.run() in orch run list/show, and --sync re-reads finished ones", async () => {
    project.write("src/main.ts", `import { demo } from "./demo.js";\nconst result = await demo.run();\nconsole.log("RUN " + result.runId);\n`);
    const script = spawnSync(process.execPath, ["--conditions=@orch/source", "--import", "tsx", "src/main.ts"], { cwd: project.dir, env: cliEnv(), encoding: "utf8" });
    expect(script.status, script.stderr).toBe(0);
    const runId = /RUN (\S+)/.exec(script.stdout)![1]!;
    const listed = (await runs()).find((r) => r.runId === runId);
    expect(listed).toMatchObject({ pipeline: "demo", status: "succeeded" });
    const shown = await project.json(["run", "show", runId, "--json"]);
    expect(shown.steps.map((s: any) => s.id)).toEqual(["load", "sum"]);
    // (cached when earlier tests ran the same steps)
    for (const s of shown.steps) expect(["succeeded", "cached"]).toContain(s.status);

    // a run journaled by a process that named no stack it knows (a CronJob's pod): the stack that journals there
    mkdirSync(runDir("cron-1"), { recursive: true });
    writeFileSync(join(runDir("cron-1"), "run.json"), JSON.stringify({ runId: "cron-1", pipeline: "demo", pipelineHash: "h", status: "succeeded", startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), parameters: {}, orchestrator: "local" }));
    expect((await runs()).find((r) => r.runId === "cron-1")).toMatchObject({ status: "succeeded", stack: "default" });

    // a finished run is not re-read on every listing; --sync forces it
    const file = join(runDir(runId), "run.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), status: "failed" }));
    expect((await runs()).find((r) => r.runId === runId)?.status).toBe("succeeded");
    const synced = await project.json<any[]>(["run", "list", "--json", "--all", "--sync"]);
    expect(synced.find((r) => r.runId === runId)?.status).toBe("failed");
  });

  it("with --sync, also reads runs from artifact stores that are not local folders (runs started by a native scheduler)", async () => {
    const plugin = project.write("plugins/bucket.mjs", BUCKET_PLUGIN);
    const bucket = mkdtempSync(join(tmpdir(), "orch-bucket-"));
    expect((await project.orch(["artifact-store", "register", "bucket", "--flavor", "bucket", `--package=${plugin}`, `--dir=${bucket}`])).code).toBe(0);
    expect((await project.orch(["stack", "register", "cron", "-o", "default", "-a", "bucket"])).code).toBe(0);
    mkdirSync(join(bucket, "runs", "cron-remote-1", "steps"), { recursive: true });
    const at = new Date().toISOString();
    writeFileSync(join(bucket, "runs", "cron-remote-1", "run.json"), JSON.stringify({ runId: "cron-remote-1", pipeline: "demo", pipelineHash: "h", status: "succeeded", startedAt: at, finishedAt: at, parameters: {}, orchestrator: "local" }));
    writeFileSync(join(bucket, "runs", "cron-remote-1", "steps", "load.json"), JSON.stringify({ runId: "cron-remote-1", stepId: "load", name: "load", status: "succeeded", attempts: 1, outputs: {}, metadata: {} }));
    expect((await runs()).find((r) => r.runId === "cron-remote-1")).toBeUndefined();
    const synced = await project.json<any[]>(["run", "list", "--json", "--all", "--sync"]);
    expect(synced.find((r) => r.runId === "cron-remote-1")).toMatchObject({ status: "succeeded", stack: "cron", storeFlavor: "bucket" });
    const shown = await project.json(["run", "show", "cron-remote-1", "--json"]);
    expect(shown.steps.map((s: any) => [s.id, s.status])).toEqual([["load", "succeeded"]]);
  });
});

describe("ORCH_HOME outside the project", () => {
  it("keeps state in ORCH_HOME and resolves plugins from the project", async () => {
    const other = createProject("orch-home");
    try {
      other.write("src/demo.ts", SIMPLE_PIPELINE);
      const home = join(mkdtempSync(join(tmpdir(), "orch-state-")), ".orch");
      expect((await other.orch(["init"], { env: { ORCH_HOME: home } })).code).toBe(0);
      const result = await other.orch(["pipeline", "run", "src/demo.ts"], { env: { ORCH_HOME: home } });
      expect(result.code, result.stderr).toBe(0);
      expect(readdirSync(join(home, "artifacts", "runs"))).toHaveLength(1);
      expect(existsSync(join(other.dir, ".orch"))).toBe(false);
    } finally {
      other.remove();
    }
  });
});

describe("schedules", () => {
  const scheduled = (schedule: string) => `import { step, pipeline } from "@orch/core";
export const tick = step({ name: "tick" }, async () => 1);
export const timed = pipeline({ name: "timed", schedule: ${schedule} }, () => { tick(); });
`;

  it.each([
    ["runOnceAt in the past", `{ runOnceAt: "2020-01-01T00:00:00Z" }`, /runOnceAt 2020-01-01T00:00:00.000Z, which is in the past/],
    ["endTime in the past", `{ cron: "0 2 * * *", endTime: "2020-01-01T00:00:00Z" }`, /endTime 2020-01-01T00:00:00.000Z, which is in the past/],
  ])("refuses a schedule with %s (exit 2)", async (_what, schedule, message) => {
    project.write("src/timed.ts", scheduled(schedule));
    const result = await project.orch(["pipeline", "run", "src/timed.ts"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await project.json(["schedule", "list", "--json"])).toEqual([]);
  });

  it("shows a schedule whose endTime has passed as ended, with no next run", async () => {
    project.write("src/timed.ts", scheduled(`{ intervalSeconds: 3600, endTime: "2099-01-01T00:00:00Z" }`));
    expect((await project.orch(["pipeline", "run", "src/timed.ts"])).code).toBe(0);
    const index = openIndex(join(project.dir, ".orch", "orch.db"));
    try {
      const row = index.listSchedules()[0]!;
      index.putSchedule({ ...row, schedule: { ...row.schedule, endTime: "2021-01-01T00:00:00.000Z" }, nextRunAt: "2021-06-01T00:00:00.000Z" });
    } finally {
      index.close();
    }
    const [schedule] = await project.json(["schedule", "list", "--json"]);
    expect(schedule).toMatchObject({ id: "timed@default", state: "ended" });
    expect(schedule.nextRunAt).toBeUndefined();
    expect((await project.orch(["schedule", "list"])).stdout).toMatch(/ended\s+-/);
    expect((await project.orch(["schedule", "delete", "timed@default"])).code).toBe(0);
  });
});

describe("a damaged or read-only index", () => {
  let damaged: TempProject;
  const db = () => join(damaged.dir, ".orch", "orch.db");

  beforeAll(async () => {
    damaged = createProject("damaged");
    damaged.write("src/demo.ts", SIMPLE_PIPELINE);
    expect((await damaged.orch(["init"])).code).toBe(0);
    expect((await damaged.orch(["pipeline", "run", "src/demo.ts", "--run-id", "before-damage"])).code).toBe(0);
  });
  afterAll(() => damaged?.remove());

  const refused = (result: Result) => {
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: The orch index .*orch\.db is damaged/);
    expect(result.stderr).toMatch(/hint: Run `orch init --repair`/);
    expect(result.stderr).not.toMatch(/looks like a bug/);
  };

  it("refuses a truncated index instead of re-creating it, and orch init --repair rebuilds runs from the journal", async () => {
    const size = statSync(db()).size;
    expect(size).toBeGreaterThan(4096);
    truncateSync(db(), 4096);
    refused(await damaged.orch(["stack", "list"]));
    refused(await damaged.orch(["init"]));
    expect(statSync(db()).size).toBe(4096);

    const repaired = await damaged.orch(["init", "--repair"]);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/kept as .*orch\.db\.corrupt-/);
    expect(readdirSync(join(damaged.dir, ".orch")).some((f) => f.startsWith("orch.db.corrupt-"))).toBe(true);
    expect((await damaged.json<any[]>(["run", "list", "--json"])).map((r) => [r.runId, r.status])).toEqual([["before-damage", "succeeded"]]);
    expect((await damaged.orch(["stack", "list"])).stdout).toMatch(/default/);
  });

  it("refuses an empty or garbage index with the same explanation", async () => {
    for (const contents of ["", "this is not a database\n".repeat(50)]) {
      writeFileSync(db(), contents);
      refused(await damaged.orch(["run", "list"]));
      expect(readFileSync(db(), "utf8")).toBe(contents);
    }
    const repaired = await damaged.orch(["init", "--repair"]);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/register them again/);
  });

  it("reads a read-only index (stack list, run list) and refuses changes with a clear error", async (context) => {
    if (process.getuid?.() !== 0) {
      chmodSync(db(), 0o444);
      chmodSync(join(damaged.dir, ".orch"), 0o555);
    } else if (spawnSync("id", ["nobody"]).status !== 0) {
      context.skip(); // running as root without a `nobody` user: no way to make the index read-only for orch
    }
    // As root, files are writable whatever their mode: run orch as `nobody`, to whom the index is read-only.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (process.getuid?.() === 0) spawnSync("chmod", ["-R", "a+rX", damaged.dir]);
    const orch = (args: string[]) => {
      const result = spawnSync(process.execPath, [BIN, ...args], { cwd: damaged.dir, env: cliEnv({ HOME: tmpdir() }), encoding: "utf8", ...asUser });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    try {
      const stacks = orch(["stack", "list"]);
      expect(stacks.code, stacks.stderr).toBe(0);
      expect(stacks.stdout).toMatch(/default/);
      const listed = orch(["run", "list", "--json"]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((r: any) => r.runId)).toEqual(["before-damage"]);
      const changed = orch(["stack", "set", "default"]);
      expect(changed.code).toBe(2);
      expect(changed.stderr).toMatch(/read-only/);
      expect(changed.stderr).not.toMatch(/looks like a bug/);
    } finally {
      chmodSync(join(damaged.dir, ".orch"), 0o755);
      chmodSync(db(), 0o644);
    }
  });
});

/** An artifact store that is not a local folder to orch (a "bucket"), backed by a folder for the test. */
const BUCKET_PLUGIN = `
import { z } from "@orch/core";
import { createLocalArtifactStore, defineArtifactStore } from "@orch/core/plugin";
export default defineArtifactStore({
  flavor: "bucket",
  remote: true,
  configSchema: z.object({ dir: z.string() }).strict(),
  async create(config) {
    return { ...createLocalArtifactStore(config.dir), flavor: "bucket", uri: "bucket://" + config.dir };
  },
});
`;

/** An orchestrator plugin whose backend is unreachable (mode=unreachable) or runs detached (mode=detached; status from a file). */
const FLAKY_PLUGIN = `
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OrchError, z } from "@orch/core";
import { defineOrchestrator } from "@orch/core/plugin";
export default defineOrchestrator({
  flavor: "flaky",
  configSchema: z.object({ mode: z.enum(["unreachable", "detached"]) }).strict(),
  capabilities: {
    dynamic: false, schedules: { cron: false, interval: true, once: false, manage: false }, retries: "runner",
    resources: "none", stop: false, logs: false, parallel: true, requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  async create(config, context) {
    return {
      flavor: "flaky",
      async submit(snapshot, submit) {
        if (config.mode === "unreachable") throw new OrchError("E_BACKEND_UNAVAILABLE", { message: "cannot reach the flaky API at 127.0.0.1:9 (connection refused)", hint: "Start it." });
        const run = { runId: submit.runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), parameters: {} };
        return { runId: submit.runId, wait: async () => ({ run, steps: [] }) };
      },
      async status(runId) {
        try { return readFileSync(join(context.projectRoot, "status-" + runId), "utf8").trim(); } catch { return "running"; }
      },
    };
  },
});
`;
