import { describe, expect, it } from "vitest";
import { OrchError } from "../errors.js";
import { chooseMachineType, type MachineType } from "./machine-type.js";

// Deliberately not sorted by size: the rule, not the table order, decides.
const TABLE: MachineType[] = [
  { name: "big", cpuCount: 16, memory: "64GiB" },
  { name: "gpu-t4", cpuCount: 4, memory: "16GiB", gpuCount: 1, gpuType: "t4" },
  { name: "small", cpuCount: 2, memory: "8GiB" },
  { name: "gpu-v100x4", cpuCount: 32, memory: "244GiB", gpuCount: 4, gpuType: "v100" },
  { name: "medium", cpuCount: 4, memory: "16GiB" },
  { name: "highmem", cpuCount: 4, memory: "32GiB" },
];
const SOURCE = { flavor: "sagemaker", step: "train", key: "settings.sagemaker.instanceType" };

describe("chooseMachineType", () => {
  it("picks the smallest CPU-only type for an empty request, never a GPU type", () => {
    expect(chooseMachineType(TABLE, {}, SOURCE).name).toBe("small");
  });

  it("picks the smallest type that satisfies CPU and memory together", () => {
    expect(chooseMachineType(TABLE, { cpuCount: 3 }, SOURCE).name).toBe("medium");
    expect(chooseMachineType(TABLE, { cpuCount: 2, memory: "20GiB" }, SOURCE).name).toBe("highmem");
    expect(chooseMachineType(TABLE, { cpuCount: 0.5, memory: "8GiB" }, SOURCE).name).toBe("small");
    // Units compare by bytes: 16GiB is 17.18 GB, so 17GB still fits "medium" and 18GB does not.
    expect(chooseMachineType(TABLE, { memory: "17GB" }, SOURCE).name).toBe("medium");
    expect(chooseMachineType(TABLE, { memory: "18GB" }, SOURCE).name).toBe("highmem");
  });

  it("picks GPU types only when GPUs are requested, and honours the GPU model", () => {
    expect(chooseMachineType(TABLE, { gpuCount: 1 }, SOURCE).name).toBe("gpu-t4");
    expect(chooseMachineType(TABLE, { gpuCount: 2 }, SOURCE).name).toBe("gpu-v100x4");
    expect(chooseMachineType(TABLE, { gpuCount: 1, gpuType: "v100" }, SOURCE).name).toBe("gpu-v100x4");
  });

  it("refuses a request nothing satisfies, naming the step, the request, the largest types and the override key", () => {
    const error = (() => {
      try {
        chooseMachineType(TABLE, { cpuCount: 64, memory: "1TiB" }, SOURCE);
      } catch (caught) {
        return caught as OrchError;
      }
      throw new Error("expected a refusal");
    })();
    expect(error).toBeInstanceOf(OrchError);
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.step).toBe("train");
    expect(error.message).toContain('Step "train" asks for 64 CPU, 1TiB memory');
    expect(error.message).toContain("big (16 CPU, 64GiB)");
    expect(error.message).not.toContain("gpu-v100x4");
    expect(error.hint).toContain("settings.sagemaker.instanceType");
  });

  it("refuses an unknown GPU model and more GPUs than any type has", () => {
    expect(() => chooseMachineType(TABLE, { gpuCount: 1, gpuType: "a100" }, SOURCE)).toThrow(/1 GPU \(a100\).*gpu-v100x4/);
    expect(() => chooseMachineType(TABLE, { gpuCount: 8 }, SOURCE)).toThrow(/8 GPU/);
    expect(() => chooseMachineType([], {}, { flavor: "databricks" })).toThrow(/The pipeline asks for no particular resources.*none without GPUs/);
  });
});
