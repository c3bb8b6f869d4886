// What a step's pods went through must reach the step record: an OOM kill is "out of memory (limit …)"
// (not the Job's "BackoffLimitExceeded"), and every pod the Job controller made counts as an attempt.
// The loopback kubelet OOM-kills a container over its memory limit, as the kernel's cgroup does.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type PipelineDefinition } from "@orch/core";
import { compilePipeline, newRunId } from "@orch/core/host";
import { createHarness, projectRoot, type Harness } from "../test/harness.js";
import { memoryHog, noisyPipeline } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function runPipeline(harness: Harness, pipeline: PipelineDefinition<any>, params: Record<string, unknown>) {
  const runtime = harness.runtime();
  const { snapshot } = compilePipeline(pipeline, params, { projectRoot });
  const runId = newRunId();
  const result = await (await runtime.submit(snapshot, { runId, signal: new AbortController().signal })).wait();
  return { runtime, runId, ...result };
}

describe("step pods that die", () => {
  it("reports an OOM-killed step as out of memory with its limit, counting each pod as an attempt", async () => {
    h = await createHarness();
    const { run, steps } = await runPipeline(h, memoryHog, {});
    expect(run.status).toBe("failed");
    const hog = steps.find((s) => s.stepId === "hog")!;
    expect(hog.status).toBe("failed");
    expect(hog.error?.message).toContain("out of memory (limit 256Mi)");
    expect(hog.error?.message).not.toMatch(/^Job .*BackoffLimitExceeded/);
    // maxRetries: 1 → backoffLimit 1: two pods, both OOM-killed, two attempts.
    expect(h.server.terminated.filter((t) => t.pod.includes("-hog-")).map((t) => t.reason)).toEqual(["OOMKilled", "OOMKilled"]);
    expect(hog.attempts).toBe(2);
  });

  it("counts the pod the Job controller replaced when the retry succeeds", async () => {
    h = await createHarness();
    const { run, steps } = await runPipeline(h, memoryHog, { onlyOnce: join(h.dir, "oom-once") });
    expect(run.status).toBe("succeeded");
    const hog = steps.find((s) => s.stepId === "hog")!;
    expect(hog.status).toBe("succeeded");
    expect(hog.attempts).toBe(2);
  });

  it("counts the replacement of a pod that crashed (exit 7) as an attempt", async () => {
    h = await createHarness();
    const { steps } = await runPipeline(h, noisyPipeline, { marker: join(h.dir, "crashed") });
    const noisy = steps.find((s) => s.stepId === "noisy")!;
    expect(noisy.status).toBe("succeeded");
    expect(noisy.attempts).toBe(2);
  });
});
