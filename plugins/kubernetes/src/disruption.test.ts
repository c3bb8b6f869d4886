// Graceful shutdowns of the orchestrator pod (kubectl delete pod, node drain, eviction, preemption) are
// not user stops: the run goes on in a replacement pod, which adopts the running step's Job. Only
// `orch run stop` stops a run. The loopback API server deletes pods gracefully (deletionTimestamp,
// SIGTERM, grace period), adds DisruptionTarget on evictions and applies podFailurePolicy as a real one does.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type PipelineDefinition } from "@orch/core";
import { journalKeys, readRunRecord, readStepRecord } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import { createHarness, projectRoot, until, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function submit(harness: Harness, pipeline: PipelineDefinition<any>, params: Record<string, unknown>, extra = {}) {
  const runtime = harness.runtime(extra);
  const { snapshot } = compilePipeline(pipeline, params, { projectRoot });
  const runId = newRunId();
  const handle = await runtime.submit(snapshot, { runId, signal: new AbortController().signal });
  return { runtime, runId, handle };
}

/** Starts the gated quickstart and waits until its last step runs in its own pod. */
async function gatedRun(harness: Harness, extra = {}) {
  const gate = join(harness.dir, "gate");
  const started = await submit(harness, quickstart, { rows: 5, gate }, extra);
  await until(async () => (await readStepRecord(harness.store, started.runId, "wait_for_gate"))?.status === "running", "the gated step to run");
  const orchestratorPods = () => harness.server.list("pods", `orch.dev/run-id=${started.runId},orch.dev/component=orchestrator`);
  const stepPods = () => harness.server.list("pods", `orch.dev/run-id=${started.runId},orch.dev/step=wait_for_gate`);
  return { ...started, gate, orchestratorPods, stepPods };
}

describe("graceful shutdown of the orchestrator pod is not a stop", () => {
  it("kubectl delete pod: the pod exits 143, the replacement adopts the running step Job and the run succeeds", async () => {
    h = await createHarness();
    const { runId, handle, gate, orchestratorPods, stepPods } = await gatedRun(h);
    const [first] = orchestratorPods();
    const stepJob = h.server.list("jobs", `orch.dev/run-id=${runId},orch.dev/step=wait_for_gate`)[0]!;
    h.server.deletePod("default", first!.metadata.name);
    // Terminating first (deletionTimestamp), then gone once its process has ended.
    expect(h.server.objects.pods.get(`default/${first!.metadata.name}`)?.metadata.deletionTimestamp).toBeTruthy();
    await until(() => h!.server.terminated.find((t) => t.pod === first!.metadata.name), "the deleted pod's process to end");
    expect(h.server.terminated.find((t) => t.pod === first!.metadata.name)?.exitCode).toBe(143);
    // Not recorded as stopped, and the step's Job was left alone.
    expect((await readRunRecord(h.store, runId))?.status).toBe("running");
    expect(h.server.list("jobs").some((j) => j.metadata.uid === stepJob.metadata.uid)).toBe(true);
    await until(() => orchestratorPods().find((p) => p.metadata.name !== first!.metadata.name && p.status?.phase === "Running"), "a replacement orchestrator pod");
    await writeFile(gate, "open");
    const { run, steps } = await handle.wait();
    expect(run.status).toBe("succeeded");
    expect(steps.find((s) => s.stepId === "wait_for_gate")?.status).toBe("succeeded");
    // The step ran once: same Job, one pod.
    expect(h.server.list("jobs", `orch.dev/run-id=${runId},orch.dev/step=wait_for_gate`)[0]!.metadata.uid).toBe(stepJob.metadata.uid);
    expect(stepPods()).toHaveLength(1);
    expect(existsSync(join(h.storePath, journalKeys.stopRequest(runId)))).toBe(false);
  });

  it("an eviction (DisruptionTarget) is replaced without counting, even with orchestratorRestarts: 0", async () => {
    h = await createHarness();
    const { runId, handle, gate, orchestratorPods, stepPods } = await gatedRun(h, { orchestratorRestarts: 0 });
    const [first] = orchestratorPods();
    const stepJob = h.server.list("jobs", `orch.dev/run-id=${runId},orch.dev/step=wait_for_gate`)[0]!;
    h.server.evictPod("default", first!.metadata.name);
    await until(() => orchestratorPods().find((p) => p.metadata.name !== first!.metadata.name && p.status?.phase === "Running"), "a replacement orchestrator pod");
    await writeFile(gate, "open");
    const { run } = await handle.wait();
    expect(run.status).toBe("succeeded");
    // The replacement adopted the running step's Job instead of starting the step again.
    expect(h.server.list("jobs", `orch.dev/run-id=${runId},orch.dev/step=wait_for_gate`)[0]!.metadata.uid).toBe(stepJob.metadata.uid);
    expect(stepPods()).toHaveLength(1);
  });

  it("an evicted step pod is replaced without counting; the step runs again and both pods count as attempts", async () => {
    h = await createHarness();
    const { runId, handle, gate, stepPods } = await gatedRun(h);
    const [first] = stepPods();
    h.server.evictPod("default", first!.metadata.name);
    await until(() => h!.server.terminated.find((t) => t.pod === first!.metadata.name), "the evicted step pod to end");
    expect(h.server.terminated.find((t) => t.pod === first!.metadata.name)?.exitCode).toBe(143);
    // The step is not recorded as stopped: its Job makes a new pod (DisruptionTarget → Ignore).
    expect((await readStepRecord(h.store, runId, "wait_for_gate"))?.status).not.toBe("stopped");
    await until(() => stepPods().find((p) => p.metadata.name !== first!.metadata.name && p.status?.phase === "Running"), "a replacement step pod");
    await writeFile(gate, "open");
    const { run, steps } = await handle.wait();
    expect(run.status).toBe("succeeded");
    const step = steps.find((s) => s.stepId === "wait_for_gate")!;
    expect(step.status).toBe("succeeded");
    expect(step.attempts).toBe(2);
  });

  it("orch run stop still stops: the request is recorded first, the orchestrator exits 130 and the run is stopped", async () => {
    h = await createHarness();
    const { runtime, runId, handle, orchestratorPods } = await gatedRun(h);
    const [pod] = orchestratorPods();
    await runtime.stop!(runId);
    const { run } = await handle.wait();
    expect(run.status).toBe("stopped");
    expect(existsSync(join(h.storePath, journalKeys.stopRequest(runId)))).toBe(true);
    await until(() => h!.server.terminated.find((t) => t.pod === pod!.metadata.name), "the orchestrator pod's process to end");
    expect(h.server.terminated.find((t) => t.pod === pod!.metadata.name)?.exitCode).toBe(130);
    expect((await readStepRecord(h.store, runId, "wait_for_gate"))?.status).toBe("stopped");
  });
});
