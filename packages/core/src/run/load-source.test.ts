import { describe, expect, it } from "vitest";
import { compiledModulePath } from "./load-source.js";

describe("compiledModulePath", () => {
  it.each([
    ["src/steps.ts", "src/steps"],
    ["src/pipeline.mts", "src/pipeline"],
    ["lib/steps.js", "lib/steps"],
    ["../../packages/testkit/src/fixtures/pipelines.ts", "__up__/__up__/packages/testkit/src/fixtures/pipelines"],
  ])("places %s at %s inside a precompiled bundle", (module, expected) => {
    expect(compiledModulePath(module)).toBe(expected);
  });
});
