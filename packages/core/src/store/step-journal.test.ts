import { execFile } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import type { ArtifactStore } from "./artifact-store.js";
import { journalKeys, readStepRecord, readStepRecords, writeStepRecord, type StepRecord } from "./journal.js";
import { createLocalArtifactStore } from "./local-store.js";

const run = promisify(execFile);
const record = (stepId: string, status: StepRecord["status"], extra: Partial<StepRecord> = {}): StepRecord => ({
  runId: "r1",
  stepId,
  name: stepId,
  status,
  attempts: 1,
  outputs: {},
  metadata: {},
  ...extra,
});

describe("the step journal of the local store (runs/<id>/steps.jsonl)", () => {
  it("appends every record as one line and reads the last line of each step, writing no file per step", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeStepRecord(store, record("a", "running"));
    await writeStepRecord(store, record("b", "running"));
    await writeStepRecord(store, record("a", "succeeded", { durationMs: 5 }));
    const lines = readFileSync(join(dir, "runs", "r1", "steps.jsonl"), "utf8").trimEnd().split("\n");
    expect(lines.map((line) => (JSON.parse(line) as StepRecord).status)).toEqual(["running", "running", "succeeded"]);
    expect(existsSync(join(dir, "runs", "r1", "steps"))).toBe(false);
    expect(await readStepRecord(store, "r1", "a")).toMatchObject({ status: "succeeded", durationMs: 5 });
    expect((await readStepRecords(store, "r1")).map((r) => `${r.stepId}:${r.status}`).sort()).toEqual(["a:succeeded", "b:running"]);
    expect(await readStepRecord(store, "r1", "missing")).toBeUndefined();
  });

  it("sees lines appended after an earlier read (a follower polling a running run)", async () => {
    const store = createLocalArtifactStore(tempDir());
    await writeStepRecord(store, record("a", "running"));
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("running");
    await writeStepRecord(store, record("a", "failed"));
    await writeStepRecord(store, record("b", "skipped"));
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("failed");
    expect((await readStepRecords(store, "r1")).length).toBe(2);
  });

  it("reads a journal written again from scratch (the run deleted, its id used again) without stale records", async () => {
    const store = createLocalArtifactStore(tempDir());
    await writeStepRecord(store, record("a", "succeeded"));
    await writeStepRecord(store, record("b", "succeeded"));
    expect((await readStepRecords(store, "r1")).length).toBe(2);
    await store.delete("runs/r1/");
    await writeStepRecord(store, record("c", "running", { name: "a long name that makes this journal longer than the first one was" }));
    await writeStepRecord(store, record("c", "succeeded", { name: "a long name that makes this journal longer than the first one was" }));
    expect((await readStepRecords(store, "r1")).map((r) => r.stepId)).toEqual(["c"]);
  });

  it("skips a line cut short by a crash mid-write and keeps the record appended right after it", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeStepRecord(store, record("a", "succeeded"));
    // What a power loss or a full disk leaves: half a line, no newline.
    const whole = JSON.stringify(record("b", "succeeded"));
    appendFileSync(join(dir, "runs", "r1", "steps.jsonl"), whole.slice(0, whole.length / 2));
    await writeStepRecord(store, record("c", "failed"));
    const records = await readStepRecords(store, "r1");
    expect(records.map((r) => `${r.stepId}:${r.status}`).sort()).toEqual(["a:succeeded", "c:failed"]);
  });

  it("does not read a line that is still being written, and reads it once it is whole", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeStepRecord(store, record("a", "running"));
    const file = join(dir, "runs", "r1", "steps.jsonl");
    const whole = `${JSON.stringify(record("a", "succeeded"))}\n`;
    appendFileSync(file, whole.slice(0, 20));
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("running");
    appendFileSync(file, whole.slice(20));
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("succeeded");
  });

  it("refuses a whole line that is not a step record with E_JOURNAL_INVALID, naming the journal and the line", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeStepRecord(store, record("a", "succeeded"));
    appendFileSync(join(dir, "runs", "r1", "steps.jsonl"), `${JSON.stringify({ runId: "r1", stepId: "b", status: "exploded" })}\n`);
    await expect(readStepRecords(store, "r1")).rejects.toMatchObject({ code: "E_JOURNAL_INVALID", message: expect.stringContaining("runs/r1/steps.jsonl (line 2)") });
  });

  it("still reads runs written before the journal (one file per step), a journal line winning over its step's file", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    mkdirSync(join(dir, "runs", "r1", "steps"), { recursive: true });
    writeFileSync(join(dir, "runs", "r1", "steps", "a.json"), JSON.stringify(record("a", "running")));
    writeFileSync(join(dir, "runs", "r1", "steps", "b.json"), JSON.stringify(record("b", "succeeded")));
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("running");
    await writeStepRecord(store, record("a", "stopped")); // `orch run stop` on an old run
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("stopped");
    expect((await readStepRecords(store, "r1")).map((r) => `${r.stepId}:${r.status}`).sort()).toEqual(["a:stopped", "b:succeeded"]);
  });

  it("loses no record when several processes append to one journal at once (steps in containers)", async () => {
    const dir = tempDir();
    const writers = 4;
    const each = 150;
    const script = `
      import { appendFileSync, mkdirSync } from "node:fs";
      const [file, writer, count] = process.argv.slice(1);
      for (let i = 0; i < Number(count); i++) {
        appendFileSync(file, JSON.stringify({ runId: "r1", stepId: "w" + writer + "_" + i, name: "s", status: "succeeded", attempts: 1, outputs: {}, metadata: { pad: "x".repeat(3000) } }) + "\\n");
      }`;
    // The same call the local store's append makes (appendFileSync), from separate processes.
    const store = createLocalArtifactStore(dir);
    await writeStepRecord(store, record("first", "succeeded"));
    const file = join(dir, "runs", "r1", "steps.jsonl");
    await Promise.all(Array.from({ length: writers }, (_, w) => run(process.execPath, ["--input-type=module", "-e", script, file, String(w), String(each)])));
    const records = await readStepRecords(store, "r1");
    expect(records.length).toBe(writers * each + 1);
  });

  it("stays one object per record on a store without atomic appends (object stores)", async () => {
    const dir = tempDir();
    const local = createLocalArtifactStore(dir);
    // An object store buffers appends: it does not claim atomicAppend, so records are objects.
    const objectStore: ArtifactStore = { ...local, atomicAppend: false };
    await writeStepRecord(objectStore, record("a", "succeeded"));
    expect(await objectStore.exists(journalKeys.step("r1", "a"))).toBe(true);
    expect(await objectStore.exists(journalKeys.stepJournal("r1"))).toBe(false);
    expect((await readStepRecord(objectStore, "r1", "a"))?.status).toBe("succeeded");
  });
});
