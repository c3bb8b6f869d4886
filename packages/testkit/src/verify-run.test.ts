import { afterAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { readStepRecord, writeStepRecord } from "@orch/core/plugin";
import { createConformanceContext } from "./context.js";
import { chain, diamond } from "./fixtures/pipelines.js";
import { referencePlugin } from "./test-plugins.js";
import { verifyRunJournal } from "./verify-run.js";

const context = createConformanceContext({ plugin: referencePlugin(), packageRoot: fileURLToPath(new URL("..", import.meta.url)) });
afterAll(() => context.cleanup());

const diamondSteps = {
  tk_source: { status: "succeeded" as const, value: 5 },
  tk_add_one: { status: "succeeded" as const, value: 6 },
  tk_double: { status: "succeeded" as const, value: 10 },
  tk_sum: { status: "succeeded" as const, value: 16 },
};

describe("verifyRunJournal", () => {
  it("accepts the journal of a correct run", async () => {
    const { result } = await context.run(diamond);
    const verified = await verifyRunJournal(result.artifactStore, result.runId, { status: "succeeded", steps: diamondSteps });
    expect(verified.steps.size).toBe(4);
  });

  it("catches a step that started before its upstream step finished", async () => {
    const { result } = await context.run(diamond);
    const store = result.artifactStore;
    const upstream = (await readStepRecord(store, result.runId, "tk_add_one"))!;
    const join = (await readStepRecord(store, result.runId, "tk_sum"))!;
    await writeStepRecord(store, { ...join, startedAt: new Date(Date.parse(upstream.finishedAt!) - 1000).toISOString() });
    await expect(verifyRunJournal(store, result.runId, { status: "succeeded", steps: diamondSteps })).rejects.toThrow(
      /step "tk_sum" started at .* before its upstream step "tk_add_one" finished at .*; steps must run in topological order/,
    );
  });

  it("catches a wrong output value", async () => {
    const { result } = await context.run(chain);
    await expect(
      verifyRunJournal(result.artifactStore, result.runId, {
        status: "succeeded",
        steps: { tk_source: { status: "succeeded", value: 3 }, tk_add_one: { status: "succeeded", value: 4 }, tk_double: { status: "succeeded", value: 9 } },
      }),
    ).rejects.toThrow(/step "tk_double" output is 8, expected 9/);
  });

  it("catches a missing step log", async () => {
    const { result } = await context.run(chain);
    await result.artifactStore.delete(`runs/${result.runId}/logs/tk_add_one.log`);
    await expect(
      verifyRunJournal(result.artifactStore, result.runId, {
        status: "succeeded",
        steps: { tk_source: { status: "succeeded" }, tk_add_one: { status: "succeeded" }, tk_double: { status: "succeeded" } },
      }),
    ).rejects.toThrow(/the log of step "tk_add_one" .* is missing/);
  });

  it("catches a run without run.json", async () => {
    const { result } = await context.run(chain);
    await result.artifactStore.delete(`runs/${result.runId}/run.json`);
    await expect(verifyRunJournal(result.artifactStore, result.runId, { status: "succeeded", steps: {} })).rejects.toThrow(/runs\/.*\/run\.json is missing/);
  });
});
