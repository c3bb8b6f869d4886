import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { defineClassMaterializer, registerMaterializer } from "../artifacts/materializers.js";
import { createClient } from "../client.js";
import { journalKeys, readCacheEntry, readRunRecord, readStepRecords } from "../store/journal.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { getStepContext } from "./step-context.js";

describe("running a pipeline", () => {
  it("writes the journal and returns typed, loadable outputs", async () => {
    const dir = tempDir();
    const make = step({ name: "make" }, () => ({ values: [1, 2, 3] }));
    const sum = step({ name: "sum" }, (data: { values: number[] }) => {
      getStepContext().logger.info(`summing ${data.values.length} values`);
      getStepContext().addMetadata({ count: data.values.length });
      return data.values.reduce((a, b) => a + b, 0);
    });
    const result = await pipeline({ name: "journal" }, () => void sum(make())).run(runIn(dir));
    expect(result.status).toBe("succeeded");
    const total: number = await result.load(sum);
    expect(total).toBe(6);
    const store = result.artifactStore;
    expect((await readRunRecord(store, result.runId))?.status).toBe("succeeded");
    const steps = await readStepRecords(store, result.runId);
    expect(steps.map((s) => [s.stepId, s.status])).toEqual([["make", "succeeded"], ["sum", "succeeded"]]);
    expect(steps.find((s) => s.stepId === "sum")?.metadata).toEqual({ count: 3 });
    expect(readFileSync(join(dir, "artifacts/runs", result.runId, "logs/sum.log"), "utf8")).toMatch(/INFO  summing 3 values/);
    expect(readFileSync(join(dir, "artifacts/runs", result.runId, "snapshot.json"), "utf8")).toContain('"name":"journal"');
    // the client reads the same run back from the store
    const client = createClient(join(dir, "artifacts"));
    expect((await client.listRuns()).map((r) => r.runId)).toEqual([result.runId]);
    expect(await client.loadOutput(result.runId, sum)).toBe(6);
  });

  it("retries a failing step with backoff, then succeeds", async () => {
    const dir = tempDir();
    const attemptTimes: number[] = [];
    const flaky = step({ name: "flaky", retry: { maxRetries: 3, delay: 0.05, backoff: 2 } }, () => {
      attemptTimes.push(Date.now());
      if (attemptTimes.length < 3) throw new Error(`transient failure ${attemptTimes.length}`);
      return "ok";
    });
    const result = await pipeline({ name: "retrying" }, () => void flaky()).run(runIn(dir));
    expect(result.status).toBe("succeeded");
    expect(result.step("flaky")?.attempts).toBe(3);
    // delays grow: ≥50 ms before the first retry, ≥100 ms before the second
    expect(attemptTimes[1]! - attemptTimes[0]!).toBeGreaterThanOrEqual(45);
    expect(attemptTimes[2]! - attemptTimes[1]!).toBeGreaterThanOrEqual(95);
    const log = readFileSync(join(dir, "artifacts/runs", result.runId, "logs/flaky.log"), "utf8");
    expect(log).toContain("transient failure 1");
    expect(log).toContain("retrying in 0.1s (retry 2 of 3)");
  });

  it("fails a step after its retries and records why; the run fails", async () => {
    const dir = tempDir();
    let calls = 0;
    const failures: string[] = [];
    const broken = step({ name: "broken", retry: { maxRetries: 1 }, onFailure: (ctx, error) => void failures.push(`${ctx.stepId}: ${(error as Error).message}`) }, () => {
      calls++;
      throw new Error("disk on fire");
    });
    const after = step({ name: "after" }, (x: number) => x);
    const result = await pipeline({ name: "failing" }, () => void after(broken())).run(runIn(dir));
    expect(result.status).toBe("failed");
    expect(calls).toBe(2);
    expect(result.step("broken")).toMatchObject({ status: "failed", attempts: 2, error: { message: "disk on fire" } });
    expect(result.step("after")?.status).toBe("skipped");
    expect(failures).toEqual(["broken: disk on fire"]);
  });

  it("times out an attempt that runs too long and tells the step through its signal", async () => {
    const dir = tempDir();
    let sawAbort = false;
    const slow = step({ name: "slow", timeout: 0.05 }, async () => {
      const signal = getStepContext().signal;
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      sawAbort = true;
      return 1;
    });
    const result = await pipeline({ name: "timeouts" }, () => void slow()).run(runIn(dir));
    expect(result.status).toBe("failed");
    expect(result.step("slow")?.error?.message).toBe('Step "slow" attempt 1 timed out after 0.05s.');
    expect(sawAbort).toBe(true);
  });

  it("caches: a re-run reuses outputs, a changed parameter re-runs only what depends on it", async () => {
    const dir = tempDir();
    const calls: string[] = [];
    const load = step({ name: "load" }, () => (calls.push("load"), [1, 2, 3]));
    const scale = step({ name: "scale" }, (xs: number[], k: number) => (calls.push("scale"), xs.map((x) => x * k)));
    const p = pipeline({ name: "caching" }, (params: { k: number }) => void scale(load(), params.k));
    const first = await p.run({ ...runIn(dir), params: { k: 2 } });
    const second = await p.run({ ...runIn(dir), params: { k: 2 } });
    expect(second.steps.map((s) => s.status)).toEqual(["cached", "cached"]);
    expect(second.step("scale")?.cachedFrom).toBe(first.runId);
    expect(await second.load(scale)).toEqual([2, 4, 6]);
    const third = await p.run({ ...runIn(dir), params: { k: 3 } });
    expect(third.steps.map((s) => `${s.stepId}:${s.status}`)).toEqual(["load:cached", "scale:succeeded"]);
    expect(calls).toEqual(["load", "scale", "scale"]);
  });

  it("recomputes a cached step whose artifacts were deleted", async () => {
    const dir = tempDir();
    let calls = 0;
    const produce = step({ name: "produce" }, () => ++calls);
    const p = pipeline({ name: "deleted_artifact" }, () => void produce());
    const first = await p.run(runIn(dir));
    rmSync(join(dir, "artifacts/artifacts", first.step("produce")!.outputs.output!.artifactId), { recursive: true });
    const second = await p.run(runIn(dir));
    expect(second.step("produce")?.status).toBe("succeeded");
    expect(calls).toBe(2);
    const third = await p.run(runIn(dir));
    expect(third.step("produce")?.status).toBe("cached");
  });

  it("treats a cache entry cut short (a crash mid-append) as a miss, and writes a whole one again", async () => {
    const dir = tempDir();
    let calls = 0;
    const produce = step({ name: "produce" }, () => ({ calls: ++calls }));
    const p = pipeline({ name: "torn_cache_entry" }, () => void produce());
    const first = await p.run(runIn(dir));
    const cacheKey = first.step("produce")!.cacheKey!;
    const journal = join(dir, "artifacts", journalKeys.cacheJournal(cacheKey));
    const line = readFileSync(journal, "utf8");
    // Half an entry, no entry at all, an entry whose JSON does not end where its line does.
    for (const torn of [line.slice(0, 40), "", `${line.trimEnd()}}\n`]) {
      writeFileSync(journal, torn);
      const again = await p.run(runIn(dir));
      expect(again.step("produce")?.status, JSON.stringify(torn)).toBe("succeeded");
      expect(await readCacheEntry(first.artifactStore, cacheKey)).toMatchObject({ runId: again.runId, stepId: "produce" });
    }
    expect(calls).toBe(4);
    expect((await p.run(runIn(dir))).step("produce")?.status).toBe("cached");
  });

  it("does not cache a step with cache: false", async () => {
    const dir = tempDir();
    let calls = 0;
    const fresh = step({ name: "fresh", cache: false }, () => ++calls);
    const p = pipeline({ name: "uncached" }, () => void fresh());
    await p.run(runIn(dir));
    expect((await p.run(runIn(dir))).step("fresh")?.status).toBe("succeeded");
    expect(calls).toBe(2);
  });

  it("saves bytes, JSON and user-materialized class instances faithfully", async () => {
    class Model {
      constructor(readonly weights: number[]) {}
      predict(x: number) {
        return this.weights.reduce((a, w) => a + w * x, 0);
      }
    }
    registerMaterializer(
      defineClassMaterializer(Model, { id: "test.model", save: (m) => JSON.stringify(m.weights), load: (data) => new Model(JSON.parse(Buffer.from(data).toString())) }),
    );
    const dir = tempDir();
    const bytes = step({ name: "bytes" }, () => new Uint8Array([0, 255, 7]));
    const model = step({ name: "model" }, () => new Model([1, 2]));
    const use = step({ name: "use" }, (m: Model, b: Uint8Array) => m.predict(b.length));
    const result = await pipeline({ name: "materializers" }, () => void use(model(), bytes())).run(runIn(dir));
    expect(result.status).toBe("succeeded");
    expect(await result.load(use)).toBe(9);
    expect(await result.load(bytes)).toEqual(new Uint8Array([0, 255, 7]));
    const loaded = await result.load(model);
    expect(loaded).toBeInstanceOf(Model);
    expect(result.step("model")?.outputs.output?.materializer).toBe("test.model");
  });

  it("fails a step whose output cannot be saved, naming step and output, and leaves no artifact", async () => {
    const dir = tempDir();
    class Unregistered {
      x = 1;
    }
    const bad = step({ name: "bad_output", outputs: ["ok", "broken"], retry: { maxRetries: 2 } }, () => ({ ok: 1, broken: { nested: new Unregistered() } }));
    const result = await pipeline({ name: "bad_materializer" }, () => void bad()).run(runIn(dir));
    const record = result.step("bad_output")!;
    expect(record.status).toBe("failed");
    expect(record.attempts).toBe(1); // retrying cannot fix an unsaveable output
    expect(record.error?.message).toBe('Step "bad_output" output "broken" cannot be saved: outputs.broken.nested is an instance of Unregistered, and no materializer is registered for it.');
    expect(existsSync(join(dir, "artifacts/artifacts"))).toBe(false); // not even the saveable "ok" output was written
  });

  it("runs onSuccess hooks with the step's value", async () => {
    const dir = tempDir();
    const seen: unknown[] = [];
    const hooked = step({ name: "hooked", onSuccess: (ctx, value) => void seen.push([ctx.stepId, value]) }, () => 42);
    await pipeline({ name: "hooks" }, () => void hooked()).run(runIn(dir));
    expect(seen).toEqual([["hooked", 42]]);
  });

  it("continue-on-failure runs independent branches to the end", async () => {
    const dir = tempDir();
    const fail = step({ name: "fail" }, () => {
      throw new Error("no");
    });
    const ok = step({ name: "ok" }, async () => (await new Promise((r) => setTimeout(r, 20)), 1));
    const child = step({ name: "child" }, (x: number) => x);
    const p = pipeline({ name: "continue", executionMode: "continue-on-failure" }, () => {
      child(fail());
      child(ok());
    });
    const result = await p.run(runIn(dir));
    expect(Object.fromEntries(result.steps.map((s) => [s.stepId, s.status]))).toEqual({ fail: "failed", ok: "succeeded", child: "skipped", child_2: "succeeded" });
    expect(result.status).toBe("failed");
  });

  it("stops a run when its signal aborts: running steps are told, nothing new starts, the run ends stopped", async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const started: string[] = [];
    const wait = step({ name: "wait" }, async () => {
      started.push("wait");
      const signal = getStepContext().signal;
      setTimeout(() => controller.abort(), 10);
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      throw new Error("interrupted");
    });
    const next = step({ name: "next" }, (x: unknown) => (started.push("next"), x));
    const result = await pipeline({ name: "cancel" }, () => void next(wait())).run({ ...runIn(dir), signal: controller.signal });
    expect(result.status).toBe("stopped");
    expect(started).toEqual(["wait"]);
    expect(result.steps.map((s) => s.status)).toEqual(["stopped", "stopped"]);
    expect((await readRunRecord(result.artifactStore, result.runId))?.status).toBe("stopped");
  });

  it("runs a dynamic pipeline whose loop depends on step values at run time", async () => {
    const dir = tempDir();
    const start = step({ name: "start" }, () => 1);
    const double = step({ name: "double" }, (x: number) => x * 2);
    const finish = step({ name: "finish" }, (x: number) => `reached ${x}`);
    const p = pipeline({ name: "dynamic_loop", dynamic: true }, async (params: { limit: number }) => {
      let current = start();
      while ((await current.load()) < params.limit) current = double(current);
      finish(current);
    });
    const result = await p.run({ ...runIn(dir), params: { limit: 20 } });
    expect(result.status).toBe("succeeded");
    expect(result.snapshot.order).toEqual(["start", "double", "double_2", "double_3", "double_4", "double_5", "finish"]);
    expect(await result.load(finish)).toBe("reached 32");
    const stored = JSON.parse(readFileSync(join(dir, "artifacts/runs", result.runId, "snapshot.json"), "utf8"));
    expect(Object.keys(stored.steps)).toHaveLength(7);
  });

  it("runs a dynamic fan-out over a runtime list in parallel", async () => {
    const dir = tempDir();
    const list = step({ name: "list" }, () => ["a", "b", "c"]);
    const upper = step({ name: "upper" }, async (s: string) => (await new Promise((r) => setTimeout(r, 10)), s.toUpperCase()));
    const join_ = step({ name: "join" }, (...parts: string[]) => parts.join(""));
    const p = pipeline({ name: "dynamic_fanout", dynamic: true }, async () => {
      const items = await list().load();
      join_(...items.map((item) => upper(item)));
    });
    const result = await p.run(runIn(dir));
    expect(await result.load(join_)).toBe("ABC");
  });
});
