import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readStopRequest } from "../run/stop-request.js";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compilePipeline, serializeSnapshot } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readRunRecord, readStepRecord, readStepRecords, writeRunRecord, writeStepRecord, type RunRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { settleRun } from "./settle-run.js";

const a = step({ name: "a" }, () => 1);
const b = step({ name: "b" }, (x: number) => x);
const two = pipeline({ name: "settle_demo" }, () => {
  b(a());
});

async function runningRun() {
  const dir = tempDir();
  const store = createLocalArtifactStore(join(dir, "artifacts"));
  const { snapshot } = compilePipeline(two, {}, { projectRoot: dir });
  await store.write(journalKeys.snapshot("r1"), serializeSnapshot(snapshot));
  const run: RunRecord = { runId: "r1", pipeline: "settle_demo", pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), parameters: {}, host: "elsewhere" };
  await writeRunRecord(store, run);
  await writeStepRecord(store, { runId: "r1", stepId: "a", name: "a", status: "running", attempts: 1, outputs: {}, metadata: {} });
  return { store, run };
}

describe("settleRun", () => {
  it("records the run and its unfinished steps stopped when the backend never writes the end", async () => {
    const { store } = await runningRun();
    const calls: string[] = [];
    const run = await settleRun(store, "r1", {
      stop: async () => {
        // The request is in the journal before the backend is signalled.
        calls.push((await readStopRequest(store, "r1")) ? "stop after request" : "stop before request");
      },
      waitSeconds: 0.2,
      pollMs: 20,
    });
    expect(calls).toEqual(["stop after request"]);
    expect(run?.status).toBe("stopped");
    expect((await readRunRecord(store, "r1"))?.status).toBe("stopped");
    expect((await readStepRecords(store, "r1")).map((s) => [s.stepId, s.status]).sort()).toEqual([
      ["a", "stopped"],
      ["b", "stopped"],
    ]);
  });

  it("keeps what the driving process records itself", async () => {
    const { store, run } = await runningRun();
    const settled = await settleRun(store, "r1", {
      stop: async () => {
        setTimeout(() => void writeRunRecord(store, { ...run, status: "failed", finishedAt: new Date().toISOString() }), 50);
      },
      waitSeconds: 5,
      pollMs: 20,
    });
    expect(settled?.status).toBe("failed");
    expect((await readStepRecord(store, "r1", "a"))?.status).toBe("running");
  });

  it("leaves a finished run alone and does not signal the backend", async () => {
    const { store, run } = await runningRun();
    await writeRunRecord(store, { ...run, status: "succeeded", finishedAt: new Date().toISOString() });
    let signalled = false;
    const settled = await settleRun(store, "r1", { stop: async () => void (signalled = true), waitSeconds: 0.1 });
    expect(settled?.status).toBe("succeeded");
    expect(signalled).toBe(false);
    expect(await readStopRequest(store, "r1")).toBeUndefined();
  });

  it("reads the run record again when a read is cut short by a concurrent write, and gives up on one that stays broken", async () => {
    const { store, run } = await runningRun();
    let torn = 0;
    const tearing = (times: number) =>
      Object.assign(Object.create(store) as typeof store, {
        read: async (key: string) => {
          const bytes = await store.read(key);
          if (bytes && key === journalKeys.run("r1") && torn < times) {
            torn++;
            return bytes.subarray(0, Math.floor(bytes.length / 2)); // a reader racing a put that is not atomic
          }
          return bytes;
        },
      });
    await writeRunRecord(store, { ...run, status: "failed", finishedAt: new Date().toISOString() });
    expect((await settleRun(tearing(2), "r1", { stop: async () => {}, pollMs: 5 }))?.status).toBe("failed");
    expect(torn).toBe(2);
    torn = 0;
    await expect(settleRun(tearing(Number.POSITIVE_INFINITY), "r1", { stop: async () => {}, pollMs: 5 })).rejects.toThrow(SyntaxError);
  });
});
