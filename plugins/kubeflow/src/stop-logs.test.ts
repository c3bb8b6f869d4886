import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseComponentConfig, readStepRecord, type ArtifactStore, type Orchestrator } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import plugin from "./index.js";
import { createHarness, packageRoot, type Harness } from "../test/harness.js";
import { gated } from "../test/fixtures/pipelines.js";

let h: Harness;
let runtime: Orchestrator;
let store: ArtifactStore;
beforeAll(async () => {
  h = await createHarness();
  store = await h.openStore("stop-logs");
  runtime = await plugin.create(parseComponentConfig(plugin, h.config), { projectRoot: packageRoot, stackName: "kfp", artifactStore: store });
});
afterAll(async () => {
  await runtime?.dispose?.();
  await h?.close();
});

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe("stop and logs", () => {
  it("orch run stop terminates the KFP run: CANCELING → CANCELED, the running step and the run end stopped", async () => {
    const gate = join(await mkdtemp(join(tmpdir(), "orch-kfp-gate-")), "gate");
    const snapshot = compilePipeline(gated, { gate }, { projectRoot: packageRoot }).snapshot;
    const runId = newRunId();
    const handle = await runtime.submit(snapshot, { runId, signal: new AbortController().signal });
    await until("wait_for_gate runs", async () => (await readStepRecord(store, runId, "wait_for_gate"))?.status === "running");
    expect(await runtime.status!(runId)).toBe("running");
    await runtime.stop!(runId);
    const { run, steps } = await handle.wait();
    expect(run.status).toBe("stopped");
    expect(steps.find((s) => s.stepId === "wait_for_gate")?.status).toBe("stopped");
    const kfpRun = [...h.kfp.runs.values()].find((r) => r.display_name === runId)!;
    expect(kfpRun.state).toBe("CANCELED");
    expect(kfpRun.state_history!.map((s) => s.state)).toEqual(["PENDING", "RUNNING", "CANCELING", "CANCELED"]);
    expect(await runtime.status!(runId)).toBe("stopped");
    // A finished run is left alone.
    await runtime.stop!(runId);
    expect(h.kfp.requests.filter((r) => r.endsWith(":terminate"))).toHaveLength(1);
    await writeFile(gate, "");
  });

  it("orch run logs returns a step's log lines", async () => {
    const gate = join(await mkdtemp(join(tmpdir(), "orch-kfp-gate-")), "gate");
    await writeFile(gate, "");
    const snapshot = compilePipeline(gated, { gate }, { projectRoot: packageRoot }).snapshot;
    const runId = newRunId();
    // A store of its own: in the stop test's store make_numbers is cached (a cached step writes no log).
    const logsRuntime = await plugin.create(parseComponentConfig(plugin, h.config), { projectRoot: packageRoot, stackName: "kfp", artifactStore: await h.openStore("logs") });
    const handle = await logsRuntime.submit(snapshot, { runId, signal: new AbortController().signal });
    expect((await handle.wait()).run.status).toBe("succeeded");
    const lines: string[] = [];
    for await (const line of logsRuntime.logs!(runId, "make_numbers")) lines.push(line);
    expect(lines.join("\n")).toContain("making 2 numbers");
  });

  it("with a Kubernetes context, orch run logs reads the step's pod log (the container's whole output)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "orch-kfp-kube-"));
    const kubeconfig = join(dir, "kubeconfig.yaml");
    await writeFile(kubeconfig, h.kfp.kubeconfig());
    const gate = join(dir, "gate");
    await writeFile(gate, "");
    const podRuntime = await plugin.create(parseComponentConfig(plugin, { ...h.config, kubeconfig, kubernetesContext: "loopback" }), { projectRoot: packageRoot, stackName: "kfp", artifactStore: await h.openStore("pod-logs") });
    const runId = newRunId();
    const handle = await podRuntime.submit(compilePipeline(gated, { gate }, { projectRoot: packageRoot }).snapshot, { runId, signal: new AbortController().signal });
    expect((await handle.wait()).run.status).toBe("succeeded");
    const lines: string[] = [];
    for await (const line of podRuntime.logs!(runId, "make_numbers")) lines.push(line);
    // The entrypoint's own last line is in the pod's output, not in the journal's step log.
    expect(lines).toContain("step make_numbers: succeeded");
    expect(lines.join("\n")).toContain("making 2 numbers");
    // Pods garbage-collected: the journal's log.
    h.kfp.podLogs.clear();
    const fallback: string[] = [];
    for await (const line of podRuntime.logs!(runId, "make_numbers")) fallback.push(line);
    expect(fallback.join("\n")).toContain("making 2 numbers");
    expect(fallback).not.toContain("step make_numbers: succeeded");
  });

  it("stopping a run KFP does not know is a clear error", async () => {
    await expect(runtime.stop!("no-such-run")).rejects.toMatchObject({ code: "E_RUN_NOT_FOUND", message: expect.stringContaining("no KFP run named no-such-run") });
  });
});
