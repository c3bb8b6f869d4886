import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, writeRunRecord, writeStepRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { readStepLog } from "./step-log.js";

const collect = async (lines: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
};

describe("readStepLog", () => {
  it("yields the journal's lines, leaving out those the backend already showed", async () => {
    const store = createLocalArtifactStore(join(tempDir(), "artifacts"));
    await store.write(journalKeys.log("r1", "a"), "from the pod\n[orch] attempt 1 failed: boom\nretrying\n");
    expect(await collect(readStepLog(store, "r1", "a"))).toEqual(["from the pod", "[orch] attempt 1 failed: boom", "retrying"]);
    expect(await collect(readStepLog(store, "r1", "a", { skip: new Set(["from the pod"]) }))).toEqual(["[orch] attempt 1 failed: boom", "retrying"]);
    expect(await collect(readStepLog(store, "r1", "missing"))).toEqual([]);
  });

  it("with follow, yields lines written later and ends when the step's record ends", async () => {
    const store = createLocalArtifactStore(join(tempDir(), "artifacts"));
    await writeRunRecord(store, { runId: "r2", pipeline: "p", pipelineHash: "h", status: "running", startedAt: new Date().toISOString(), parameters: {}, host: "elsewhere" });
    const step = { runId: "r2", stepId: "a", name: "a", status: "running" as const, attempts: 1, outputs: {}, metadata: {} };
    await writeStepRecord(store, step);
    await store.write(journalKeys.log("r2", "a"), "first\n");
    setTimeout(async () => {
      await store.write(journalKeys.log("r2", "a"), "first\nsecond\n");
      await writeStepRecord(store, { ...step, status: "succeeded" });
    }, 300);
    expect(await collect(readStepLog(store, "r2", "a", { follow: true }))).toEqual(["first", "second"]);
  });
});
