import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys } from "../store/journal.js";
import { loadArtifact } from "./artifact-io.js";

/** Runs `produce` as a step and hands its output to a second step; returns what each side saw. */
async function roundTrip<T>(value: () => T) {
  const dir = tempDir();
  let received: unknown = "never called";
  const produce = step({ name: "produce" }, value);
  const consume = step({ name: "consume" }, (v: unknown) => {
    received = v;
    return 1;
  });
  const result = await pipeline({ name: "round_trip" }, () => void consume(produce())).run(runIn(dir));
  expect(result.status, JSON.stringify(result.step("produce")?.error)).toBe("succeeded");
  return { received, loaded: await result.load(produce), record: result.step("produce")!, dir };
}

describe("the default materializers", () => {
  it("gives a Buffer back as a Buffer", async () => {
    const { received, loaded, record } = await roundTrip(() => Buffer.from("hello"));
    expect(Buffer.isBuffer(received)).toBe(true);
    expect((received as Buffer).toString()).toBe("hello");
    expect(Buffer.isBuffer(loaded)).toBe(true);
    expect(record.outputs.output!.materializer).toBe("buffer");
  });

  it("keeps undefined at the top level and inside arrays and objects, so defaults apply downstream", async () => {
    const dir = tempDir();
    const nothing = step({ name: "nothing" }, () => undefined);
    const withDefault = step({ name: "with_default" }, (x: number = 7) => x * 2);
    const holes = step({ name: "holes" }, () => ({ list: [1, undefined, 3], field: undefined }));
    const result = await pipeline({ name: "undefined_values" }, () => {
      withDefault(nothing());
      holes();
    }).run(runIn(dir));
    expect(result.status).toBe("succeeded");
    expect(await result.load(nothing)).toBeUndefined();
    expect(await result.load(withDefault)).toBe(14);
    const h = await result.load(holes);
    expect(h.list).toEqual([1, undefined, 3]);
    expect(h.list[1]).toBeUndefined();
    expect("field" in h).toBe(true);
  });

  it("round-trips Date, Map, Set, BigInt, typed arrays, RegExp, NaN, -0, errors, nested Buffers and cycles", async () => {
    const { received, loaded } = await roundTrip(() => {
      const value: Record<string, unknown> = {
        date: new Date("2024-01-02T03:04:05Z"),
        map: new Map<unknown, unknown>([["a", 1], [2, { deep: new Set(["x"]) }]]),
        set: new Set([1, 2]),
        big: 12345678901234567890n,
        floats: new Float32Array([1.5, 2.5]),
        ints: new Int32Array([-1, 2]),
        regexp: /a+b/gi,
        nan: Number.NaN,
        negativeZero: -0,
        error: new RangeError("too far"),
        nested: { buffer: Buffer.from("inner") },
      };
      value.self = value;
      return value;
    });
    for (const v of [received, loaded] as Record<string, any>[]) {
      expect(v.date).toEqual(new Date("2024-01-02T03:04:05Z"));
      expect(v.map).toEqual(new Map<unknown, unknown>([["a", 1], [2, { deep: new Set(["x"]) }]]));
      expect(v.set).toEqual(new Set([1, 2]));
      expect(v.big).toBe(12345678901234567890n);
      expect(v.floats).toEqual(new Float32Array([1.5, 2.5]));
      expect(v.ints).toBeInstanceOf(Int32Array);
      expect(v.regexp).toEqual(/a+b/gi);
      expect(v.nan).toBeNaN();
      expect(Object.is(v.negativeZero, -0)).toBe(true);
      expect(v.error).toBeInstanceOf(RangeError);
      expect(v.error.message).toBe("too far");
      expect(Buffer.isBuffer(v.nested.buffer)).toBe(true);
      expect(v.nested.buffer.toString()).toBe("inner");
      expect(v.self).toBe(v);
    }
  });

  it("stores plain JSON values as readable JSON", async () => {
    const { record, dir } = await roundTrip(() => ({ name: "iris", rows: [1, 2.5, null], ok: true, nested: { "ünï": "😀" } }));
    expect(record.outputs.output!.materializer).toBe("json");
    const data = readFileSync(join(dir, "artifacts", journalKeys.artifactData(record.outputs.output!.artifactId)), "utf8");
    expect(JSON.parse(data)).toEqual({ name: "iris", rows: [1, 2.5, null], ok: true, nested: { "ünï": "😀" } });
  });

  it("still loads artifacts written with the json and bytes materializers", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    await store.write(journalKeys.artifactData("old_json"), Buffer.from('{"a":[1,null]}'));
    await store.write(journalKeys.artifactData("old_bytes"), Buffer.from([1, 2, 3]));
    expect(await loadArtifact(store, "old_json", "json")).toEqual({ a: [1, null] });
    const bytes = await loadArtifact(store, "old_bytes", "bytes");
    expect(bytes).toEqual(new Uint8Array([1, 2, 3]));
  });

  it.each([
    ["a function inside an object", () => ({ model: { fit: () => 1 } }), "outputs.output.model.fit is a function"],
    ["a symbol in a Map", () => new Map([["k", Symbol("s")]]), 'outputs.output.get("k") is a symbol'],
    ["a class instance in an array", () => [1, new (class Model {})()], "outputs.output[1] is an instance of Model, and no materializer is registered for it"],
    ["a WeakMap", () => ({ cache: new WeakMap() }), "outputs.output.cache is an instance of WeakMap, and no materializer is registered for it"],
    ["a promise", () => ({ later: Promise.resolve(1) }), "outputs.output.later is an instance of Promise, and no materializer is registered for it"],
  ])("refuses %s once, naming the path, without retrying", async (_what, value, problem) => {
    const dir = tempDir();
    let calls = 0;
    const bad = step({ name: "bad", retry: { maxRetries: 3, delay: 0 } }, () => {
      calls++;
      return value();
    });
    const result = await pipeline({ name: "unsaveable" }, () => void bad()).run(runIn(dir));
    const record = result.step("bad")!;
    expect(record.status).toBe("failed");
    expect(calls).toBe(1);
    expect(record.attempts).toBe(1);
    expect(record.error).toMatchObject({ code: "E_MATERIALIZER", message: `Step "bad" output "output" cannot be saved: ${problem}.` });
    expect(readdirSync(join(dir, "artifacts")).includes("artifacts")).toBe(false);
  });

  it("names the declared output in the path of a multi-output step", async () => {
    const dir = tempDir();
    const fit = step({ name: "fit", outputs: ["model", "score"] }, () => ({ model: { weights: [1], fit: () => 0 }, score: 1 }));
    const result = await pipeline({ name: "multi_unsaveable" }, () => void fit()).run(runIn(dir));
    expect(result.step("fit")?.error?.message).toBe('Step "fit" output "model" cannot be saved: outputs.model.fit is a function.');
  });
});
