import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { executeRun } from "../run/execute-run.js";
import type { RunObserver } from "../run/observer.js";
import { compilePipeline, serializeSnapshot } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readRunRecord, writeRunRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { followRun } from "./follow-run.js";
import { OrchError } from "../errors.js";

const produce = step({ name: "produce", cache: false }, (start: number) => start * 20);
const consume = step({ name: "consume", cache: false }, (x: number) => {
  if (x > 100) throw new Error("too big");
  return x + 1;
});
const demo = pipeline({ name: "follow_demo" }, (p: { start: number }) => {
  consume(produce(p.start));
});

function recorder() {
  const events: string[] = [];
  const observer: RunObserver = {
    runStarted: (run) => void events.push(`started ${run.runId}`),
    stepUpdated: (record) => void events.push(`${record.stepId} ${record.status}`),
    runFinished: (run, steps) => void events.push(`finished ${run.status} (${steps.length} steps)`),
  };
  return { events, observer };
}

describe("followRun", () => {
  it("turns the journal a real run writes into observer events and the run's outcome", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot, definitions } = compilePipeline(demo, { start: 1 }, { projectRoot: dir });
    const { events, observer } = recorder();
    // Following starts before anything exists, as for a run submitted to a backend.
    const following = followRun(store, "r1", observer, { snapshot, pollMs: 20 });
    const executed = await executeRun({ snapshot, runId: "r1", store, definitions, projectRoot: dir });
    const outcome = await following;
    expect(outcome.run).toEqual(executed.run);
    const byId = (steps: { stepId: string; status: string }[]) => steps.map((s) => [s.stepId, s.status]).sort();
    expect(byId(outcome.steps)).toEqual(byId(executed.steps));
    expect(outcome.snapshot.order).toEqual(["produce", "consume"]);
    expect(events[0]).toBe("started r1");
    expect(events.at(-1)).toBe("finished succeeded (2 steps)");
    expect(events).toContain("produce succeeded");
    expect(events).toContain("consume succeeded");
    expect(events.filter((e) => e.startsWith("finished"))).toHaveLength(1);
  });

  it("reports a failed run as failed", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot, definitions } = compilePipeline(demo, { start: 50 }, { projectRoot: dir });
    const { events, observer } = recorder();
    const following = followRun(store, "r2", observer, { snapshot, pollMs: 20 });
    await executeRun({ snapshot, runId: "r2", store, definitions, projectRoot: dir });
    const outcome = await following;
    expect(outcome.run.status).toBe("failed");
    expect(outcome.steps.find((s) => s.stepId === "consume")?.error?.message).toContain("too big");
    expect(events.at(-1)).toBe("finished failed (2 steps)");
  });

  it("records the run failed with the backend's reason when the backend ends and the journal stays running", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot } = compilePipeline(demo, { start: 1 }, { projectRoot: dir });
    await store.write(journalKeys.snapshot("r3"), serializeSnapshot(snapshot));
    await writeRunRecord(store, { runId: "r3", pipeline: "follow_demo", pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), parameters: {} });
    const { events, observer } = recorder();
    const outcome = await followRun(store, "r3", observer, { backendEnded: Promise.resolve({ reason: "the orchestrator pod was OOM-killed" }), flavor: "kubernetes", pollMs: 20 });
    expect(outcome.run).toMatchObject({ status: "failed", orchestrator: "kubernetes", error: { message: "Run r3: the orchestrator pod was OOM-killed." } });
    expect(outcome.run.finishedAt).toBeDefined();
    expect(await readRunRecord(store, "r3")).toEqual(outcome.run);
    expect(events).toEqual(["started r3", "finished failed (0 steps)"]);
  });

  it("records a run that never started as stopped when the backend says it was stopped", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot } = compilePipeline(demo, { start: 1 }, { projectRoot: dir });
    const outcome = await followRun(store, "r4", undefined, { snapshot, backendEnded: Promise.resolve({ stopped: true }), pollMs: 20 });
    expect(outcome.run).toMatchObject({ runId: "r4", pipeline: "follow_demo", status: "stopped", parameters: { start: 1 } });
  });

  it("stops following (not the run) when its signal aborts", async () => {
    const store = createLocalArtifactStore(join(tempDir(), "artifacts"));
    const controller = new AbortController();
    const following = followRun(store, "r5", undefined, { signal: controller.signal, pollMs: 20 });
    controller.abort(new Error("enough"));
    await expect(following).rejects.toThrow("enough");
  });
});

describe("followRun on a store whose reads can be torn or fail once", () => {
  it("reads a record cut short by a concurrent write again at the next poll instead of failing the follow", async () => {
    const dir = tempDir();
    const inner = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot, definitions } = compilePipeline(demo, { start: 1 }, { projectRoot: dir });
    let torn = 0;
    // The first reads of a step record return half of it, as a reader racing a non-atomic put sees it.
    const store = Object.assign(Object.create(inner) as typeof inner, {
      read: async (key: string) => {
        const bytes = await inner.read(key);
        if (bytes && /\/steps[/.]/.test(key) && torn < 3) {
          torn++;
          return bytes.subarray(0, Math.floor(bytes.length / 2));
        }
        return bytes;
      },
    });
    const following = followRun(store, "torn", undefined, { snapshot, pollMs: 20 });
    await executeRun({ snapshot, runId: "torn", store: inner, definitions, projectRoot: dir });
    const outcome = await following;
    expect(torn).toBeGreaterThan(0); // one read per poll: the journal of the local store is one file
    expect(outcome.run.status).toBe("succeeded");
  });

  it("polls again after a read the store could not serve (E_BACKEND_UNAVAILABLE), and gives up when it stays so", async () => {
    const dir = tempDir();
    const inner = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot, definitions } = compilePipeline(demo, { start: 1 }, { projectRoot: dir });
    let failures = 0;
    let failing = 2;
    const store = Object.assign(Object.create(inner) as typeof inner, {
      read: async (key: string) => {
        if (failing > 0 && key.endsWith("run.json")) {
          failing--;
          failures++;
          throw new OrchError("E_BACKEND_UNAVAILABLE", { message: "the S3 endpoint cannot be reached (ECONNRESET)." });
        }
        return inner.read(key);
      },
    });
    const following = followRun(store, "flaky", undefined, { snapshot, pollMs: 20 });
    await executeRun({ snapshot, runId: "flaky", store: inner, definitions, projectRoot: dir });
    expect((await following).run.status).toBe("succeeded");
    expect(failures).toBe(2);
    failing = Infinity;
    await expect(followRun(store, "flaky-2", undefined, { snapshot, pollMs: 1 })).rejects.toMatchObject({ code: "E_BACKEND_UNAVAILABLE" });
  });
});
