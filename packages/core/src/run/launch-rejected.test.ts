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

describe("a run on the local store", () => {
  it("lets the event loop turn between steps (timers, signals and I/O callbacks are not starved by synchronous records)", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const events: string[] = [];
    let armed = false;
    const tick = step({ name: "tick", cache: false }, (x: number) => {
      events.push("step");
      if (!armed) {
        armed = true;
        setImmediate(() => events.push("immediate"));
      }
      return x + 1;
    });
    const chain = pipeline({ name: "chain" }, () => {
      let value = tick(0);
      for (let i = 0; i < 20; i++) value = tick(value);
    });
    const { snapshot, definitions } = compilePipeline(chain, {}, { projectRoot: dir });
    const outcome = await executeRun({ snapshot, runId: "r3", store, definitions, projectRoot: dir });
    expect(outcome.run.status).toBe("succeeded");
    // The callback queued by the first step ran long before the last step.
    expect(events.indexOf("immediate")).toBeGreaterThan(0);
    expect(events.indexOf("immediate")).toBeLessThan(5);
  });
});
