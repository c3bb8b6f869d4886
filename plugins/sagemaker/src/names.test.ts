import { describe, expect, it } from "vitest";
import { isOrchError } from "@orch/core/plugin";
import { PIPELINE_NAME_PATTERN, STEP_NAME_PATTERN, sageMakerPipelineName, sageMakerStepName, stepNames } from "./names.js";

describe("SageMaker names", () => {
  it("keeps step ids that fit SageMaker's pattern and rewrites others deterministically into it", () => {
    expect(sageMakerStepName("train_model-2")).toBe("train_model-2");
    for (const id of ["ünïcode_step", "with.dot", "a".repeat(65), "spaces in id", "../path", ""]) {
      const name = sageMakerStepName(id);
      expect(name, id).toMatch(STEP_NAME_PATTERN);
      expect(sageMakerStepName(id)).toBe(name);
    }
    expect(sageMakerStepName("with.dot")).toMatch(/^with-dot-[0-9a-f]{8}$/);
  });

  it("never maps two step ids to one name, and says so if a rewritten name meets a real id", () => {
    const ids = ["a.b", "a-b", "a b", "a_b", "x".repeat(70), `${"x".repeat(69)}y`];
    const names = stepNames(ids);
    expect(new Set(names.values()).size).toBe(ids.length);
    const clash = sageMakerStepName("a.b");
    try {
      stepNames(["a.b", clash]);
      throw new Error("expected a refusal");
    } catch (error) {
      expect(isOrchError(error) && error.message).toContain(`"a.b" and "${clash}"`);
    }
  });

  it("makes pipeline names SageMaker accepts (no underscores), distinct for names that differ only in punctuation", () => {
    expect(sageMakerPipelineName("orch", "quickstart")).toBe("orch-quickstart");
    const a = sageMakerPipelineName("orch", "iris_training");
    const b = sageMakerPipelineName("orch", "iris-training");
    expect(a).toMatch(/^orch-iris-training-[0-9a-f]{8}$/);
    expect(b).toBe("orch-iris-training");
    for (const name of [a, sageMakerPipelineName("orch", "__"), sageMakerPipelineName("orch", "p".repeat(300)), sageMakerPipelineName("orch", "数据")]) {
      expect(name).toMatch(PIPELINE_NAME_PATTERN);
      expect(name.length).toBeLessThanOrEqual(256);
    }
  });
});
