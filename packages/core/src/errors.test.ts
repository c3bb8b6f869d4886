import { describe, expect, it } from "vitest";
import { pipeline } from "./dsl/pipeline.js";
import { step } from "./dsl/step.js";
import { OrchError, toErrorRecord } from "./errors.js";
import { runIn, tempDir } from "./__fixtures__/test-stack.js";

class HttpFailure {
  constructor(readonly status: number) {}
}

describe("toErrorRecord", () => {
  it.each([
    ["an Error", new TypeError("bad type"), { message: "bad type", name: "TypeError" }],
    ["an OrchError", new OrchError("E_USAGE", { message: "no" }), { message: "no", name: "OrchError", code: "E_USAGE" }],
    ["an Error without a message", new Error(), { message: "Error (thrown without a message)", name: "Error" }],
    ["undefined", undefined, { message: "undefined was thrown (not an Error, so there is no message)", name: "undefined" }],
    ["null", null, { message: "null was thrown (not an Error, so there is no message)", name: "null" }],
    ["a string", "disk full", { message: "disk full", name: "string" }],
    ["an empty string", "", { message: "an empty string was thrown", name: "string" }],
    ["a number", 0, { message: "number 0 was thrown", name: "number" }],
    ["a BigInt", 5n, { message: "bigint 5 was thrown", name: "bigint" }],
    ["a symbol", Symbol("s"), { message: "Symbol(s) was thrown", name: "symbol" }],
    ["a plain object", { status: 500, body: { retry: false } }, { message: 'object thrown: {"status":500,"body":{"retry":false}}', name: "object" }],
    ["an object with message and code", { message: "quota exceeded", code: "Q1" }, { message: "quota exceeded", name: "object", code: "Q1" }],
    ["a class instance", new HttpFailure(503), { message: 'HttpFailure thrown: {"status":503}', name: "HttpFailure" }],
    ["an object from another realm that looks like an Error", { name: "RangeError", message: "far", stack: "RangeError: far\n    at x" }, { message: "far", name: "RangeError", stack: "RangeError: far\n    at x" }],
  ])("describes %s", (_what, thrown, expected) => {
    const record = toErrorRecord(thrown);
    expect(record).toMatchObject(expected);
    expect(record.message).not.toContain("[object Object]");
  });

  it("shows circular objects and truncates huge ones", () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    expect(toErrorRecord(circular).message).toBe('object thrown: {"a":1,"self":"[Circular]"}');
    expect(toErrorRecord({ big: "x".repeat(10_000) }).message.length).toBeLessThan(2100);
  });
});

describe("a step that throws something other than an Error", () => {
  it.each([
    ["undefined", undefined, "undefined was thrown (not an Error, so there is no message)"],
    ["a plain object", { reason: "nope" }, 'object thrown: {"reason":"nope"}'],
    ["0", 0, "number 0 was thrown"],
  ])("fails with a recorded error when it throws %s", async (_what, thrown, message) => {
    const dir = tempDir();
    const boom = step({ name: "boom" }, () => {
      throw thrown;
    });
    const result = await pipeline({ name: "throws_odd" }, () => void boom()).run(runIn(dir));
    expect(result.status).toBe("failed");
    expect(result.step("boom")).toMatchObject({ status: "failed", error: { message } });
  });

  it("fails a dynamic pipeline whose function throws undefined", async () => {
    const dir = tempDir();
    const result = await pipeline({ name: "dyn_throws", dynamic: true }, async () => {
      throw undefined;
    }).run(runIn(dir));
    expect(result.status).toBe("failed");
  });
});
