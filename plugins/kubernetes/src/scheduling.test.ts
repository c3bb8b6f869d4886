// Pods that cannot be scheduled, as a real scheduler leaves them: Pending while no node matches their
// nodeSelector or while the artifact store's PersistentVolumeClaim is missing or not bound.
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline, newRunId } from "@orch/core/host";
import { createHarness, projectRoot, until, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function submit(harness: Harness, extra = {}) {
  const runtime = harness.runtime(extra);
  const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
  const runId = newRunId();
  const handle = await runtime.submit(snapshot, { runId, signal: new AbortController().signal });
  return { runId, handle };
}

describe("pods the scheduler cannot place", () => {
  it("fails a step whose nodeSelector matches no node after stepStartTimeoutSeconds, with the scheduler's reason", async () => {
    // No node has pool=cpu, which the fixture's evaluate step selects.
    h = await createHarness({ nodes: [{ name: "node-1", labels: { "kubernetes.io/hostname": "node-1" } }] });
    const { handle } = await submit(h, { stepStartTimeoutSeconds: 2 });
    const { run, steps } = await handle.wait();
    expect(run.status).toBe("failed");
    const evaluate = steps.find((s) => s.stepId === "evaluate")!;
    expect(evaluate.status).toBe("failed");
    expect(evaluate.error?.message).toMatch(/did not start within 2s \(stepStartTimeoutSeconds\): 0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector/);
    expect(steps.find((s) => s.stepId === "train")?.status).toBe("succeeded");
  });

  it("waits for the artifact store's claim to be bound before any pod runs", async () => {
    h = await createHarness();
    const { runId, handle } = await submit(h, { artifactStoreVolume: { claimName: "orch-artifacts", mountPath: h.storePath } });
    const pending = await until(
      () => h!.server.list("pods", `orch.dev/run-id=${runId},orch.dev/component=orchestrator`).find((p) => p.status?.conditions?.[0]?.reason === "Unschedulable"),
      "the orchestrator pod to wait for its claim",
    );
    expect(pending.status.conditions[0].message).toContain('persistentvolumeclaim "orch-artifacts" not found');
    h.server.addPersistentVolumeClaim("default", "orch-artifacts");
    const { run } = await handle.wait();
    expect(run.status).toBe("succeeded");
  });
});
