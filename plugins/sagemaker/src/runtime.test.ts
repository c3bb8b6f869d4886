/**
 * What SageMaker does to a run beyond the happy path, through the runtime and the loopback SageMaker:
 * service faults retried by RetryPolicies (and seen live), a job that fails before orch starts,
 * MaxRuntimeInSeconds, definitions that go through S3, paging.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { readRunRecord, readStepRecord, type StepRecord } from "@orch/core/plugin";
import { createHarness, type Harness } from "../test/harness.js";
import { gated, quickstart } from "../test/fixtures/project/src/pipeline.js";

const projectRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
let h: Harness;
beforeAll(async () => {
  // train has retries (RetryPolicies); load_data has none. timeScale 0.1: train's 10 s interval takes 1 s.
  h = await createHarness({ projectRoot, aws: { faults: { train: ["SageMaker.CAPACITY_ERROR"], load_data: [] }, timeScale: 0.1 } });
}, 60_000);
afterAll(() => h?.close());

const submit = async (runtime: ReturnType<Harness["runtime"]>, pipeline: Parameters<typeof compilePipeline>[0], params: unknown, runId: string, observer?: { stepUpdated(r: StepRecord): void }) => {
  const { snapshot } = compilePipeline(pipeline, params, { projectRoot });
  const handle = await runtime.submit(snapshot, { runId, signal: new AbortController().signal, ...(observer ? { observer } : {}) });
  return handle.wait();
};

describe("a sagemaker run", () => {
  it("retries a service fault per the step's RetryPolicies, showing SageMaker's view live, and succeeds", async () => {
    const updates: StepRecord[] = [];
    const { run } = await submit(h.runtime(), quickstart, { rows: 4 }, "fault-retried-1", { stepUpdated: (r) => void updates.push(r) });
    expect(run.status).toBe("succeeded");
    const execution = [...h.aws.executions.values()].find((e) => e.parameters.OrchRunId === "fault-retried-1")!;
    expect(execution.steps.get("train")!.attempts).toBe(2);
    expect(execution.steps.get("train")!.jobs).toHaveLength(2);
    // While SageMaker retried, the journal had no record of train: the observer saw SageMaker's status.
    expect(updates.some((u) => u.stepId === "train" && String(u.metadata.sagemakerLastFailure ?? "").includes("SageMaker.CAPACITY_ERROR"))).toBe(true);
    expect((await readStepRecord(h.store, "fault-retried-1", "train"))?.status).toBe("succeeded");
    // Three steps, two per page: the executions' steps were read across pages.
    expect(h.aws.calls.filter((c) => c === "SageMaker.ListPipelineExecutionSteps").length).toBeGreaterThan(1);
  }, 120_000);

  it("records a job that failed before orch started with SageMaker's reason, and the steps after it as skipped", async () => {
    // train's RetryPolicies allow 2 retries; a fault that keeps coming outlasts them.
    const { snapshot } = compilePipeline(quickstart, { rows: 4 }, { projectRoot });
    const local = await createHarness({ projectRoot, bucket: "orch-sm-faults", aws: { faults: { train: ["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.JOB_INTERNAL_ERROR", "SageMaker.JOB_INTERNAL_ERROR"] }, timeScale: 0.01 } });
    try {
      const handle = await local.runtime().submit(snapshot, { runId: "fault-failed-1", signal: new AbortController().signal });
      const { run } = await handle.wait();
      expect(run.status).toBe("failed");
      expect(run.error?.message).toContain("SageMaker execution failed");
      const train = await readStepRecord(local.store, "fault-failed-1", "train");
      expect(train?.status).toBe("failed");
      expect(train?.attempts).toBe(3); // the first attempt and MaxAttempts 2 retries
      expect(train?.error?.message).toContain("SageMaker: SageMaker.JOB_INTERNAL_ERROR");
      expect((await readStepRecord(local.store, "fault-failed-1", "evaluate"))?.status).toBe("skipped");
      expect((await readStepRecord(local.store, "fault-failed-1", "load_data"))?.status).toBe("succeeded");
    } finally {
      await local.close();
    }
  }, 120_000);

  it("ends a job at MaxRuntimeInSeconds and records why", async () => {
    const { run } = await submit(h.runtime({ maxRuntimeInSeconds: 3, pipelineNamePrefix: "maxrt" }), gated, { gate: `${projectRoot}/never-opened` }, "max-runtime-1");
    expect(run.status).toBe("failed");
    const step = await readStepRecord(h.store, "max-runtime-1", "wait_for_gate");
    expect(step?.status).toBe("failed");
    expect(step?.error?.message).toContain("MaxRuntimeInSeconds");
    expect((await readStepRecord(h.store, "max-runtime-1", "after_gate"))?.status).toBe("skipped");
    expect((await readRunRecord(h.store, "max-runtime-1"))?.status).toBe("failed");
  }, 120_000);

  it("passes a definition over the inline limit through the s3 store, and SageMaker runs what it read there", async () => {
    const { run } = await submit(h.runtime({ inlineDefinitionLimit: 200, pipelineNamePrefix: "bigdef" }), quickstart, { rows: 2 }, "s3-definition-1");
    expect([...h.aws.pipelines.values()].find((p) => p.name.startsWith("orch-"))?.source).toBe("inline");
    expect(run.status).toBe("succeeded");
    const pipeline = [...h.aws.pipelines.values()].find((p) => p.name.startsWith("bigdef-"))!;
    expect(pipeline.source).toBe("s3");
    expect(pipeline.definition.length).toBeGreaterThan(200);
    expect(JSON.parse(pipeline.definition).Steps.map((s: { Name: string }) => s.Name)).toEqual(["load_data", "train", "evaluate"]);
  }, 120_000);
});
