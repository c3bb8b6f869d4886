import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { compile } from "./compile.js";

// Regression tests for issue 9, item 11: unknown parameters were dropped silently.
const use = step({ name: "use" }, (n: unknown) => n);

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string; hint?: string };
  }
  throw new Error("expected an error");
};

describe("unknown parameters", () => {
  const withSchema = pipeline({ name: "with_schema", params: z.object({ nTrees: z.number().default(50), depth: z.number().optional() }) }, (p) => void use(p.nTrees));

  it("refuses a key the schema does not know, with the closest one as did-you-mean (non-strict z.object)", () => {
    const error = errorOf(() => compile(withSchema, { ntrees: 5 }));
    expect(error).toMatchObject({ code: "E_PARAMS_INVALID", message: 'Unknown parameter "ntrees" for pipeline "with_schema".' });
    expect(error.hint).toBe('Did you mean "nTrees"? Its parameters: nTrees, depth.');
  });

  it("refuses it for a strict schema too, with the same did-you-mean", () => {
    const strict = pipeline({ name: "strict", params: z.strictObject({ nTrees: z.number() }) }, (p) => void use(p.nTrees));
    expect(errorOf(() => compile(strict, { nTres: 5 })).hint).toMatch(/^Did you mean "nTrees"\?/);
  });

  it("names no candidate when nothing is close", () => {
    expect(errorOf(() => compile(withSchema, { completely_different: 1 })).hint).toBe("Its parameters: nTrees, depth.");
  });

  it("accepts extra keys when the schema asks for them (looseObject / catchall)", () => {
    const loose = pipeline({ name: "loose", params: z.looseObject({ a: z.number().default(1) }) }, (p) => void use(p.a));
    expect(compile(loose, { extra: 1 }).parameters).toEqual({ a: 1, extra: 1 });
    const catchall = pipeline({ name: "catchall", params: z.object({}).catchall(z.number()) }, () => void use(1));
    expect(compile(catchall, { any: 2 }).parameters).toEqual({ any: 2 });
  });

  it("knows the keys behind .default(), .optional() and transforms of the schema", () => {
    const wrapped = pipeline({ name: "wrapped", params: z.object({ a: z.number().default(1) }).default({ a: 1 }).transform((p) => p) }, (p) => void use(p.a));
    expect(errorOf(() => compile(wrapped, { b: 1 })).message).toMatch(/Unknown parameter "b"/);
  });

  it("refuses any parameter for a pipeline function that takes none", () => {
    for (const fn of [() => void use(1), function () { use(1); }]) {
      const none = pipeline({ name: "none" }, fn);
      const error = errorOf(() => compile(none, { x: 1 }));
      expect(error.message).toBe('Pipeline "none" takes no parameters, but got "x".');
      expect(error.hint).toMatch(/params: z\.object/);
    }
  });

  it("without a schema, refuses keys the pipeline function never reads, suggesting one it does", () => {
    const schemaless = pipeline({ name: "schemaless" }, (p: { trees?: number; depth?: number }) => void use((p.trees ?? 50) + (p.depth ?? 1)));
    const error = errorOf(() => compile(schemaless, { tres: 10 }));
    expect(error.message).toBe('Unknown parameter "tres" for pipeline "schemaless".');
    expect(error.hint).toBe('Did you mean "trees"? Its parameters: trees, depth.');
    expect(compile(schemaless, { trees: 10 }).parameters).toEqual({ trees: 10 });
    // reading all keys at once (spread, destructuring with rest, Object.keys) counts as using them all
    const spreading = pipeline({ name: "spreading" }, (p: Record<string, number>) => void use({ ...p }));
    expect(compile(spreading, { anything: 1 }).parameters).toEqual({ anything: 1 });
    const destructuring = pipeline({ name: "destructuring" }, ({ a }: { a?: number }) => void use(a ?? 0));
    expect(errorOf(() => compile(destructuring, { b: 1 })).message).toMatch(/Unknown parameter "b"/);
    // a default parameter value does not make the function "take none"
    const defaulted = pipeline({ name: "defaulted" }, (p: { a?: number } = {}) => void use(p.a ?? 0));
    expect(compile(defaulted, { a: 3 }).parameters).toEqual({ a: 3 });
  });

  it("refuses them in pipeline.run({ params }) before any run is recorded", async () => {
    const dir = tempDir();
    await expect(withSchema.run({ ...runIn(dir), params: { nTree: 5 } as never })).rejects.toMatchObject({ code: "E_PARAMS_INVALID", hint: expect.stringMatching(/^Did you mean "nTrees"\?/) });
  });

  it("clips a huge unknown key in the message", () => {
    const error = errorOf(() => compile(withSchema, { ["k".repeat(10_000)]: 1 }));
    expect(error.message.length).toBeLessThan(200);
    expect(error.message).toContain("…");
  });
});

describe("a pipeline function that throws while compiling", () => {
  // Regression test for issue 9, item 14: "Cannot read properties of undefined — this looks like a bug", exit 1.
  // (The user's frame, file:line:col, is checked from a real project by the CLI's tests: frames in
  // @orch/core's own folder, this test file's included, are never "the user's".)
  it("is an E_COMPILE error naming the pipeline and what was thrown", () => {
    const config: { model?: { id: string } } = {};
    const broken = pipeline({ name: "broken" }, () => void use(config.model!.id));
    const error = errorOf(() => compile(broken, {}));
    expect(error.code).toBe("E_COMPILE");
    expect(error.message).toMatch(/^Pipeline "broken" failed while compiling: TypeError: Cannot read properties of undefined \(reading 'id'\)$/);
  });

  it("keeps OrchErrors of the DSL as they are, and describes thrown non-errors", () => {
    const twice = pipeline({ name: "twice" }, () => {
      use.with({ id: "same" })(1);
      use.with({ id: "same" })(2);
    });
    expect(errorOf(() => compile(twice, {})).message).toMatch(/two step invocations with the id "same"/);
    const weird = pipeline({ name: "weird" }, () => {
      throw { reason: "nope" };
    });
    expect(errorOf(() => compile(weird, {})).message).toMatch(/^Pipeline "weird" failed while compiling.*: threw \{"reason":"nope"\}$/);
  });
});
