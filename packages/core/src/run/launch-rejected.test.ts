import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compilePipeline } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { readStepRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { executeRun } from "./execute-run.js";

// A launch that rejects used to vanish: the step had no record, the run said "failed" with no error.
describe("a step whose launch rejects", () => {
  const a = step({ name: "a", cache: false }, () => 1);
  const b = step({ name: "b", cache: false }, (x: number) => x + 1);
  const c = step({ name: "c", cache: false }, (x: number) => x + 1);
  const definition = pipeline({ name: "rejects" }, () => {
    c(b(a()));
  });

  it("ends as a failed step record with the error and its hint (no step function loaded)", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot, definitions } = compilePipeline(definition, {}, { projectRoot: dir });
    definitions.delete("b");
    const outcome = await executeRun({ snapshot, runId: "r1", store, definitions, projectRoot: dir });
    expect(outcome.run.status).toBe("failed");
    expect(outcome.steps.map((s) => [s.stepId, s.status])).toEqual([["a", "succeeded"], ["b", "failed"], ["c", "skipped"]]);
    const failed = outcome.steps.find((s) => s.stepId === "b")!;
    expect(failed.error).toMatchObject({ code: "E_SOURCE_LOAD", message: expect.stringContaining('step "b"'), hint: expect.stringContaining("step({ name })") });
    // The journal has it too, so `orch run show` and a resume see the failure.
    expect(await readStepRecord(store, "r1", "b")).toMatchObject({ status: "failed", error: { code: "E_SOURCE_LOAD" } });
  });

  it("ends as a failed step record when an external launcher throws", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot } = compilePipeline(definition, {}, { projectRoot: dir });
    const outcome = await executeRun({
      snapshot,
      runId: "r2",
      store,
      projectRoot: dir,
      launch: async () => {
        throw new Error("backend said no");
      },
    });
    expect(outcome.steps.map((s) => [s.stepId, s.status])).toEqual([["a", "failed"], ["b", "skipped"], ["c", "skipped"]]);
    expect(outcome.steps[0]!.error?.message).toContain("backend said no");
  });
});
