import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compilePipeline, serializeSnapshot } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readRunRecord, readStepRecord, readStepRecords, writeStepRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { backendRunId } from "./backend-run-id.js";
import { scheduledRunTask } from "./scheduled-run.js";
import { ORCH_ENV } from "./step-command.js";

const a = step({ name: "a" }, () => 1);
const b = step({ name: "b" }, (x: number) => x);
const two = pipeline({ name: "nightly_demo" }, () => {
  b(a());
});

const SNAPSHOT_KEY = "schedules/test/nightly/snapshot.json";
const task = (argv: string[]) => scheduledRunTask(argv, { bin: "orch-test-run", flavor: "test" });
let dir: string;
let stderr: string;
let saved: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = tempDir();
  saved = { ...process.env };
  process.env[ORCH_ENV.artifactStore] = JSON.stringify({ flavor: "local", config: { path: join(dir, "artifacts") } });
  stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const { snapshot } = compilePipeline(two, {}, { projectRoot: dir });
  await store().write(SNAPSHOT_KEY, serializeSnapshot(snapshot));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env = saved;
});
const store = () => createLocalArtifactStore(join(dir, "artifacts"));

describe("scheduledRunTask (the setup and finalize tasks of a backend-scheduled run)", () => {
  it("setup copies the schedule's snapshot to the run and records it running on the stack; finalize records the end", async () => {
    expect(await task(["setup", "--snapshot", SNAPSHOT_KEY, "--run-id", "fire-1", "--stack", "aml", "--project-root", dir])).toBe(0);
    expect(await readRunRecord(store(), "fire-1")).toMatchObject({ status: "running", pipeline: "nightly_demo", orchestrator: "test", stack: "aml" });
    expect(await store().read(journalKeys.snapshot("fire-1"))).toBeDefined();
    for (const stepId of ["a", "b"]) await writeStepRecord(store(), { runId: "fire-1", stepId, name: stepId, status: "succeeded", attempts: 1, outputs: {}, metadata: {} });
    expect(await task(["finalize", "--run-id", "fire-1", "--project-root", dir])).toBe(0);
    expect(await readRunRecord(store(), "fire-1")).toMatchObject({ status: "succeeded", stack: "aml" });
  });

  it("takes the run id from the variable $ORCH_RUN_ID_FROM names: two firings are two runs", async () => {
    process.env[ORCH_ENV.runIdFrom] = "BACKEND_RUN_NAME";
    for (const name of ["nightly-job-1", "nightly-job-2"]) {
      process.env.BACKEND_RUN_NAME = name;
      expect(await task(["setup", "--snapshot", SNAPSHOT_KEY, "--project-root", dir])).toBe(0);
      await writeStepRecord(store(), { runId: name, stepId: "a", name: "a", status: "failed", attempts: 1, outputs: {}, metadata: {} });
      expect(await task(["finalize", "--project-root", dir])).toBe(0);
    }
    for (const name of ["nightly-job-1", "nightly-job-2"]) {
      expect(await readRunRecord(store(), name)).toMatchObject({ status: "failed", error: { message: "Step a failed." } });
      // b never started: its upstream failed.
      expect((await readStepRecord(store(), name, "b"))?.status).toBe("skipped");
    }
  });

  it("maps a backend name that is no valid run id to one, the same way every time", async () => {
    const name = `weekly.schedule/${"x".repeat(80)}:2026-11-30T02:00:00Z`;
    process.env[ORCH_ENV.runIdFrom] = "BACKEND_RUN_NAME";
    process.env.BACKEND_RUN_NAME = name;
    expect(await task(["setup", "--snapshot", SNAPSHOT_KEY, "--project-root", dir])).toBe(0);
    const runId = backendRunId(name);
    expect(runId).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/);
    expect(await readRunRecord(store(), runId)).toMatchObject({ status: "running" });
  });

  it("refuses to run when the variable $ORCH_RUN_ID_FROM names is missing or empty, writing nothing", async () => {
    process.env[ORCH_ENV.runIdFrom] = "BACKEND_RUN_NAME";
    for (const value of [undefined, "", "  "]) {
      if (value === undefined) delete process.env.BACKEND_RUN_NAME;
      else process.env.BACKEND_RUN_NAME = value;
      stderr = "";
      expect(await task(["setup", "--snapshot", SNAPSHOT_KEY, "--project-root", dir])).toBe(2);
      expect(stderr).toContain("$BACKEND_RUN_NAME");
      expect(stderr).toContain(value === undefined ? "not set" : "empty");
    }
    expect(await readStepRecords(store(), "undefined")).toEqual([]);
    expect(await store().list("runs/")).toEqual([]);
  });

  it("without --run-id or $ORCH_RUN_ID_FROM, it is a usage error; an invalid --run-id is refused", async () => {
    expect(await task(["setup", "--snapshot", SNAPSHOT_KEY])).toBe(2);
    expect(await task(["finalize", "--run-id", "../escape"])).toBe(1);
    expect(stderr).toContain("Invalid run id");
  });
});
