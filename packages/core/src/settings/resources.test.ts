import { describe, expect, it } from "vitest";
import { ResourceSettingsSchema, normalizeResources } from "./resources.js";

describe("ResourceSettingsSchema", () => {
  it("accepts fractional CPUs, whole GPUs and memory with a unit", () => {
    const settings = { cpuCount: 0.5, gpuCount: 1, memory: "4GB" };
    expect(ResourceSettingsSchema.parse(settings)).toEqual(settings);
  });

  it.each([
    [{ cpuCount: 0 }, "cpuCount"],
    [{ gpuCount: 1.5 }, "gpuCount"],
    [{ gpuCount: -1 }, "gpuCount"],
    [{ memory: "4G" }, "memory"],
    [{ mem: "4GB" }, ""],
  ])("rejects %j", (input, path) => {
    const result = ResourceSettingsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join(".")).toBe(path);
  });

  it("reports the memory parser's message", () => {
    const result = ResourceSettingsSchema.safeParse({ memory: "4G" });
    expect(result.error?.issues[0]?.message).toContain('Invalid memory "4G": unknown unit "G" (did you mean "4GB"?)');
  });

  it("describes every field", () => {
    for (const field of Object.values(ResourceSettingsSchema.shape)) expect(field.description).toBeTruthy();
  });
});

describe("normalizeResources", () => {
  it("converts memory to bytes once and leaves absent settings absent", () => {
    expect(normalizeResources({ cpuCount: 2, memory: "8GiB" })).toEqual({ cpuCount: 2, memoryBytes: 8_589_934_592 });
    expect(normalizeResources({})).toEqual({});
  });
});
