import { describe, expect, it } from "vitest";
import { isOrchError, parseMemory, type SnapshotStep } from "@orch/core/plugin";
import { DEFAULT_INSTANCE_TYPE, ML_INSTANCE_TYPES, instanceTypeFor } from "./instance-types.js";

const step = (resources?: SnapshotStep["settings"]["resources"]) => ({ id: "train", settings: { resources } }) as unknown as SnapshotStep;
const choose = (resources?: SnapshotStep["settings"]["resources"], instanceType?: string) => instanceTypeFor(step(resources), {}, { ...(instanceType ? { instanceType } : {}) });

describe("the ml.* instance table", () => {
  it("has unique names and GPU rows only with a GPU model", () => {
    expect(new Set(ML_INSTANCE_TYPES.map((t) => t.name)).size).toBe(ML_INSTANCE_TYPES.length);
    for (const type of ML_INSTANCE_TYPES) {
      expect(type.name).toMatch(/^ml\.[a-z0-9]+\.[a-z0-9]+$/);
      expect(Boolean(type.gpuCount)).toBe(Boolean(type.gpuType));
      expect(parseMemory(type.memory).bytes).toBeGreaterThan(0);
    }
  });

  it("picks the smallest type that satisfies cpu, memory and GPUs", () => {
    expect(choose({ cpuCount: 1, memory: "512MiB" })).toBe("ml.m5.large");
    expect(choose({ cpuCount: 2 })).toBe("ml.m5.large");
    expect(choose({ cpuCount: 2.5 })).toBe("ml.c5.xlarge"); // 4 CPU with 8 GiB is smaller than 4 CPU with 16 GiB
    expect(choose({ memory: "8GiB" })).toBe("ml.m5.large");
    expect(choose({ memory: "9GB" })).toBe("ml.r5.large"); // 9 GB > 8 GiB: 2 CPU with 16 GiB is smaller than 4 CPU
    expect(choose({ cpuCount: 4, memory: "9GB" })).toBe("ml.m5.xlarge");
    expect(choose({ cpuCount: 40 })).toBe("ml.m5.12xlarge");
    expect(choose({ memory: "700GiB" })).toBe("ml.r5.24xlarge");
    expect(choose({ gpuCount: 1 })).toBe("ml.g4dn.xlarge");
    expect(choose({ gpuCount: 2 })).toBe("ml.g4dn.12xlarge");
    expect(choose({ gpuCount: 8 })).toBe("ml.g5.48xlarge");
    expect(choose({ gpuCount: 0, cpuCount: 1 })).toBe("ml.m5.large");
  });

  it("uses the config's type, then the default, when a step asks for nothing", () => {
    expect(choose()).toBe(DEFAULT_INSTANCE_TYPE);
    expect(choose({})).toBe(DEFAULT_INSTANCE_TYPE);
    expect(choose(undefined, "ml.c5.xlarge")).toBe("ml.c5.xlarge");
    expect(choose({ cpuCount: 8 }, "ml.m5.large")).toBe("ml.c5.2xlarge"); // resources win over the config default
  });

  it("refuses requests no type satisfies, naming the step, the largest types and the override key", () => {
    for (const resources of [{ cpuCount: 500 }, { memory: "1PiB" }, { gpuCount: 9 }, { gpuCount: 1, memory: "1TiB" }]) {
      try {
        choose(resources);
        throw new Error(`expected a refusal for ${JSON.stringify(resources)}`);
      } catch (error) {
        expect(isOrchError(error)).toBe(true);
        const e = error as { code: string; message: string; hint: string };
        expect(e.code).toBe("E_SETTINGS_INVALID");
        expect(e.message).toContain('Step "train"');
        expect(e.message).toContain("ml.");
        expect(e.hint).toContain("settings.sagemaker.instanceType");
      }
    }
  });
});
