import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openIndex, IndexError, SCHEMA_VERSION, type OrchIndex } from "./index.js";

const run = promisify(execFile);
let dir: string;
let index: OrchIndex;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "orch-index-"));
  index = openIndex(join(dir, "orch.db"));
});
afterEach(() => {
  index.close();
  rmSync(dir, { recursive: true, force: true });
});

function seedDefault() {
  index.putComponent({ kind: "orchestrator", name: "default", flavor: "local", config: {} });
  index.putComponent({ kind: "artifact-store", name: "default", flavor: "local", config: { path: ".orch/artifacts" } });
  index.putStack({ name: "default", orchestrator: "default", artifactStore: "default" });
}

describe("schema", () => {
  it("creates the schema in WAL mode and records its version", () => {
    expect(index.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(index.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
  });

  it("reopens an existing index without migrating again", () => {
    seedDefault();
    index.close();
    index = openIndex(join(dir, "orch.db"));
    expect(index.listStacks().map((s) => s.name)).toEqual(["default"]);
  });

  it("refuses an index written by a newer schema", () => {
    index.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    index.close();
    expect(() => openIndex(join(dir, "orch.db"))).toThrow(/newer orch/);
    index = openIndex(join(dir, "other.db"));
  });
});

describe("components and stacks", () => {
  it("stores components with their config and refuses duplicates", () => {
    seedDefault();
    index.putComponent({ kind: "orchestrator", name: "prod", flavor: "local", config: { maxParallelism: 2 } });
    expect(index.getComponent("orchestrator", "prod")?.config).toEqual({ maxParallelism: 2 });
    expect(() => index.putComponent({ kind: "orchestrator", name: "prod", flavor: "local", config: {} })).toThrow(IndexError);
  });

  it("refuses a stack whose components do not exist, naming the missing one", () => {
    seedDefault();
    expect(() => index.putStack({ name: "s", orchestrator: "nope", artifactStore: "default" })).toThrow(/Orchestrator "nope" is not registered/);
    expect(index.getStack("s")).toBeUndefined();
  });

  it("refuses to delete a component used by a stack, and the active stack", () => {
    seedDefault();
    expect(() => index.deleteComponent("orchestrator", "default")).toThrow(/used by stack default/);
    expect(() => index.deleteStack("default")).toThrow(/active stack/);
  });

  it("switches the active stack", () => {
    seedDefault();
    index.putComponent({ kind: "orchestrator", name: "prod", flavor: "local", config: {} });
    index.putStack({ name: "production", orchestrator: "prod", artifactStore: "default" });
    expect(index.activeStackName()).toBe("default");
    index.setActiveStack("production");
    expect(index.activeStackName()).toBe("production");
    expect(() => index.setActiveStack("missing")).toThrow(/not registered/);
  });
});

describe("runs", () => {
  it("records runs and steps and lists them newest first with step counts", () => {
    index.upsertRun({ runId: "20260101-000000-000-aaaaaa", pipeline: "p", status: "succeeded", startedAt: "2026-01-01T00:00:00Z" });
    index.upsertRun({ runId: "20260102-000000-000-bbbbbb", pipeline: "p", status: "running", startedAt: "2026-01-02T00:00:00Z", pid: 1 });
    index.upsertStep({ runId: "20260102-000000-000-bbbbbb", stepId: "a", name: "a", status: "succeeded", attempts: 1, outputs: { output: { artifactId: "x1", materializer: "json", contentHash: "h" } } });
    index.upsertStep({ runId: "20260102-000000-000-bbbbbb", stepId: "b", name: "b", status: "running", attempts: 1 });
    const runs = index.listRuns();
    expect(runs.map((r) => r.runId)).toEqual(["20260102-000000-000-bbbbbb", "20260101-000000-000-aaaaaa"]);
    expect(runs[0]!.stepCounts).toEqual({ succeeded: 1, running: 1 });
    expect(index.findRun("20260102")?.runId).toBe("20260102-000000-000-bbbbbb");
    expect(() => index.findRun("2026010")).toThrow(/several runs/);
  });

  it("keeps a run's page in the orchestrator's UI (url) through later updates without one", () => {
    const url = "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/orch-r1?project=p";
    index.upsertRun({ runId: "r1", pipeline: "p", status: "running", startedAt: "2026-01-01T00:00:00Z", url });
    index.upsertRun({ runId: "r1", pipeline: "p", status: "succeeded", startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:01:00Z" });
    expect(index.getRun("r1")).toMatchObject({ status: "succeeded", url });
    expect(index.listRuns()[0]!.url).toBe(url);
  });

  it("marks an interrupted run and its unfinished steps failed, once", () => {
    index.upsertRun({ runId: "r1", pipeline: "p", status: "running", startedAt: "2026-01-01T00:00:00Z", pid: 1 });
    index.upsertStep({ runId: "r1", stepId: "a", name: "a", status: "succeeded", attempts: 1 });
    index.upsertStep({ runId: "r1", stepId: "b", name: "b", status: "running", attempts: 1 });
    expect(index.markInterrupted("r1", "gone")).toBe(true);
    expect(index.markInterrupted("r1", "gone")).toBe(false);
    expect(index.getRun("r1")).toMatchObject({ status: "failed", interrupted: true, error: { code: "E_INTERRUPTED" } });
    expect(index.getSteps("r1").map((s) => s.status)).toEqual(["succeeded", "failed"]);
    expect(index.listRuns({ status: "interrupted" })).toHaveLength(1);
  });

  it("deletes a run with its steps", () => {
    index.upsertRun({ runId: "r1", pipeline: "p", status: "succeeded", startedAt: "2026-01-01T00:00:00Z" });
    index.upsertStep({ runId: "r1", stepId: "a", name: "a", status: "succeeded", attempts: 1 });
    index.deleteRun("r1");
    expect(index.getRun("r1")).toBeUndefined();
    expect(index.getSteps("r1")).toEqual([]);
  });
});

describe("paging and pipeline versions", () => {
  const seedRuns = () => {
    const runs = [
      ["r1", "etl", "h1", "succeeded", false],
      ["r2", "etl", "h1", "failed", true],
      ["r3", "etl", "h2", "failed", false],
      ["r4", "train", "t1", "succeeded", false],
    ] as const;
    runs.forEach(([runId, pipeline, pipelineHash, status, interrupted], i) =>
      index.upsertRun({ runId, pipeline, pipelineHash, status, interrupted, stack: i < 3 ? "default" : "prod", startedAt: `2026-01-0${i + 1}T00:00:00.000Z`, parameters: {} }),
    );
  };

  it("counts the runs a filter of listRuns matches, so pages can be numbered", () => {
    seedRuns();
    expect(index.countRuns()).toBe(4);
    expect(index.countRuns({ pipeline: "etl" })).toBe(3);
    expect(index.countRuns({ pipeline: "etl", status: "failed" })).toBe(2);
    expect(index.countRuns({ status: "interrupted" })).toBe(1);
    expect(index.countRuns({ stack: "prod" })).toBe(1);
    expect(index.countRuns({ pipeline: "nope" })).toBe(0);
    expect(index.listRuns({ pipeline: "etl", limit: 2, offset: 1 }).map((r) => r.runId)).toEqual(["r2", "r1"]);
  });

  it("lists each pipeline's versions with their run counts, newest first", () => {
    seedRuns();
    expect(index.pipelineVersions().map((v) => [v.pipeline, v.hash, v.runs, v.lastStartedAt.slice(0, 10)])).toEqual([
      ["etl", "h2", 1, "2026-01-03"],
      ["etl", "h1", 2, "2026-01-02"],
      ["train", "t1", 1, "2026-01-04"],
    ]);
  });
});

describe("schedules", () => {
  it("keeps schedules and their state across reopening", () => {
    index.putSchedule({
      id: "nightly", pipeline: "p", stack: "default", sourceFile: "src/p.ts", parameters: { n: 1 },
      schedule: { cron: "0 2 * * *", catchup: false, allowOverlap: false }, managedBy: "index", state: "active", createdAt: new Date().toISOString(),
    });
    index.updateScheduleState("nightly", { lastRunId: "r1", nextRunAt: "2026-01-02T02:00:00.000Z" });
    index.close();
    index = openIndex(join(dir, "orch.db"));
    expect(index.getSchedule("nightly")).toMatchObject({ lastRunId: "r1", nextRunAt: "2026-01-02T02:00:00.000Z", parameters: { n: 1 } });
    index.deleteSchedule("nightly");
    expect(() => index.deleteSchedule("nightly")).toThrow(/not registered/);
  });
});

describe("concurrency", () => {
  it("lets 8 processes write to one index at once without 'database is locked'", async () => {
    const file = join(dir, "shared.db");
    const writer = join(import.meta.dirname, "fixtures", "writer.ts");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run(process.execPath, ["--conditions=@orch/source", "--import", "tsx", writer, file, `w${i}`, "25"])),
    );
    for (const result of results) expect(result.stderr).not.toMatch(/locked/);
    const check = openIndex(file);
    expect(check.countRuns()).toBe(200);
    expect(check.listRuns({ status: "succeeded" })).toHaveLength(200);
    check.close();
  });
});

describe("file permissions", () => {
  // Regression test for issue 9, item 24: orch.db (with component secrets) was created 0644.
  it("creates the index 0600 in a 0700 folder, and keeps it 0600 while open (WAL)", () => {
    const root = mkdtempSync(join(tmpdir(), "orch-perms-"));
    try {
      const file = join(root, "home", ".orch", "orch.db");
      const opened = openIndex(file);
      opened.putComponent({ kind: "orchestrator", name: "o", flavor: "local", config: { token: "secret" } });
      expect(statSync(join(root, "home", ".orch")).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
      opened.close();
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
