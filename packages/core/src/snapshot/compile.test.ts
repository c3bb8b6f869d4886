import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { OrchError } from "../errors.js";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compile, serializeSnapshot } from "./compile.js";
import { SnapshotSchema } from "./snapshot.js";

const root = fileURLToPath(new URL("../..", import.meta.url)); // packages/core
const load = step({ name: "load" }, () => [1, 2, 3]);
const scale = step({ name: "scale", resources: { cpuCount: 2, memory: "1GiB" }, retry: { maxRetries: 2 } }, (xs: number[], factor: number) => xs.map((x) => x * factor));
const total = step({ name: "total" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));

const training = pipeline({ name: "training", params: z.object({ factor: z.number().default(2) }), retry: { delay: 1 } }, (p) => {
  const data = load();
  total(scale(data, p.factor));
  total(scale(data, 10));
});

function compileError(fn: () => unknown): OrchError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError);
    return error as OrchError;
  }
  throw new Error("expected a compile error");
}

describe("compile", () => {
  it("produces byte-identical JSON for the same code and parameters", () => {
    const a = serializeSnapshot(compile(training, { factor: 3 }, { projectRoot: root }));
    const b = serializeSnapshot(compile(training, { factor: 3 }, { projectRoot: root }));
    expect(a).toBe(b);
    expect(serializeSnapshot(compile(training, { factor: 4 }, { projectRoot: root }))).not.toBe(a);
  });

  it("validates against the exported snapshot schema", () => {
    const snapshot = compile(training, {}, { projectRoot: root });
    expect(SnapshotSchema.parse(JSON.parse(serializeSnapshot(snapshot)))).toEqual(snapshot);
  });

  it("keeps the structural hash when only parameter values change", () => {
    expect(compile(training, { factor: 3 }, { projectRoot: root }).pipeline.hash).toBe(compile(training, { factor: 5 }, { projectRoot: root }).pipeline.hash);
  });

  it("names invocations name, name_2 … in call order and records the wiring", () => {
    const snapshot = compile(training, {}, { projectRoot: root });
    expect(snapshot.order).toEqual(["load", "scale", "total", "scale_2", "total_2"]);
    expect(snapshot.steps.scale!.inputs).toEqual([{ kind: "artifact", step: "load", output: "output" }, { kind: "param", value: 2 }]);
    expect(snapshot.steps.total_2!.upstream).toEqual(["scale_2"]);
    expect(snapshot.steps.scale!.source.module).toBe("src/snapshot/compile.test.ts");
    expect(snapshot.parameters).toEqual({ factor: 2 });
  });

  it("merges settings: step over pipeline over defaults", () => {
    const { steps } = compile(training, {}, { projectRoot: root });
    expect(steps.scale!.settings.retry).toEqual({ maxRetries: 2, delay: 1, backoff: 1 });
    expect(steps.scale!.settings.resources).toEqual({ cpuCount: 2, memory: "1GiB" });
    expect(steps.load!.settings.retry).toEqual({ maxRetries: 0, delay: 1, backoff: 1 });
    expect(steps.load!.settings.cache).toBe(true);
  });

  it("puts the order in topological order even with explicit ids and `after`", () => {
    const p = pipeline({ name: "ordered" }, () => {
      const a = load.with({ id: "first" })();
      const b = load();
      total.with({ after: b })(a);
    });
    const snapshot = compile(p, {}, { projectRoot: root });
    expect(snapshot.order).toEqual(["first", "load", "total"]);
    expect(snapshot.steps.total!.upstream.sort()).toEqual(["first", "load"]);
  });

  it("rejects a handle from another pipeline, naming the step", () => {
    let foreign: ReturnType<typeof load> | undefined;
    compile(pipeline({ name: "first_pipeline" }, () => void (foreign = load())), {}, { projectRoot: root });
    const error = compileError(() => compile(pipeline({ name: "second" }, () => void total(foreign!)), {}, { projectRoot: root }));
    expect(error.code).toBe("E_COMPILE");
    expect(error.message).toContain('Step "total" argument 1 is the output of step "load" from another pipeline');
  });

  it("rejects a non-serializable literal, naming the step and argument", () => {
    const error = compileError(() => compile(pipeline({ name: "bad_literal" }, () => void scale([1], new Date() as unknown as number)), {}, { projectRoot: root }));
    expect(error.message).toContain('Step "scale" in pipeline "bad_literal": argument 2 is an instance of Date');
    expect(error.hint).toMatch(/JSON-serializable/);
  });

  it("rejects a circular literal with its path instead of overflowing the stack", () => {
    const list: unknown[] = [1];
    list.push({ back: list });
    const error = compileError(() => compile(pipeline({ name: "circular_literal" }, () => void scale(list as number[], 2)), {}, { projectRoot: root }));
    expect(error.message).toContain('Step "scale" in pipeline "circular_literal": argument 1[1].back refers back to itself (a circular structure)');
  });

  it("rejects a duplicate explicit id", () => {
    const error = compileError(() =>
      compile(pipeline({ name: "dupes" }, () => { load.with({ id: "x" })(); load.with({ id: "x" })(); }), {}, { projectRoot: root }),
    );
    expect(error.message).toContain('two step invocations with the id "x"');
  });

  it("rejects invalid names of steps, pipelines and ids", () => {
    expect(compileError(() => step({ name: "bad name" }, () => 1)).code).toBe("E_NAME_INVALID");
    expect(compileError(() => pipeline({ name: "../escape" }, () => {})).message).toContain('Invalid pipeline name "../escape"');
    expect(compileError(() => compile(pipeline({ name: "ids" }, () => void load.with({ id: "a/b" })()), {}, { projectRoot: root })).code).toBe("E_NAME_INVALID");
  });

  it("rejects invalid settings, naming the step and key", () => {
    const error = compileError(() => step({ name: "bad_settings", resources: { memory: "8G" } }, () => 1));
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message).toContain('step "bad_settings"');
    expect(error.message).toContain("resources.memory");
    const unknown = compileError(() => step({ name: "typo", retry: { maxRetry: 2 } as never }, () => 1));
    expect(unknown.message).toContain("maxRetry");
  });

  it("validates parameters with the pipeline's schema before anything runs", () => {
    const error = compileError(() => compile(training, { factor: "three" }, { projectRoot: root }));
    expect(error.code).toBe("E_PARAMS_INVALID");
    expect(error.key).toBe("factor");
  });

  it("refuses an async pipeline function that is not declared dynamic", () => {
    const error = compileError(() => compile(pipeline({ name: "async_static" }, async () => void load()), {}, { projectRoot: root }));
    expect(error.message).toContain("is async but not declared dynamic");
  });

  it("refuses calling a step outside a pipeline with a hint to use .fn", () => {
    const error = compileError(() => load());
    expect(error.hint).toContain("load.fn(");
    expect(load.fn()).toEqual([1, 2, 3]);
  });
});
