import { join } from "node:path";
import { mkdirSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import { createLocalArtifactStore } from "./local-store.js";
import { readRunRecord, readStepRecord, writeStepRecord, type StepRecord } from "./journal.js";

describe("journal records are validated when read", () => {
  it("refuses a damaged step record with E_JOURNAL_INVALID, naming the key and every problem", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    mkdirSync(join(dir, "runs", "r1", "steps"), { recursive: true });
    writeFileSync(join(dir, "runs", "r1", "steps", "a.json"), JSON.stringify({ runId: "r1", stepId: "a", name: "a", status: "exploded", attempts: -1, outputs: {} }));
    const error = await readStepRecord(store, "r1", "a").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_JOURNAL_INVALID", message: expect.stringContaining("runs/r1/steps/a.json") });
    const message = (error as Error).message;
    for (const field of ["status", "attempts", "metadata"]) expect(message).toMatch(new RegExp(`^  ${field}: `, "m"));
  });

  it("refuses a run record that is not an object", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "runs", "r2"), { recursive: true });
    writeFileSync(join(dir, "runs", "r2", "run.json"), "[1, 2]");
    await expect(readRunRecord(createLocalArtifactStore(dir), "r2")).rejects.toMatchObject({ code: "E_JOURNAL_INVALID" });
  });

  it("keeps fields it does not know (written by a newer orch)", async () => {
    const store = createLocalArtifactStore(tempDir());
    const record = { runId: "r3", stepId: "a", name: "a", status: "succeeded", attempts: 1, outputs: {}, metadata: {}, addedLater: { x: 1 } } as StepRecord;
    await writeStepRecord(store, record);
    expect(await readStepRecord(store, "r3", "a")).toEqual(record);
  });
});
