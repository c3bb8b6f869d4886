/**
 * The runtime against the loopback ARM server with the real SDK and a test TokenCredential: submit is
 * idempotent, the body the SDK sends is the compiled one, throttling is retried, stop cancels the
 * pipeline job, a failing step fails the run, logs come from the journal.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { readRunRecord, readStepRecords, type Snapshot } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import { failingPipeline, gated, small } from "../test/fixtures/project/src/pipeline.js";
import { createHarness, missing, type Harness } from "../test/harness.js";

const projectRoot = fileURLToPath(new URL("../test/fixtures/project/", import.meta.url)).replace(/\/$/, "");
const snap = (p: Parameters<typeof compilePipeline>[0], params: Record<string, unknown> = {}): Snapshot => compilePipeline(p, params, { projectRoot }).snapshot;
const skip = missing();
if (skip) console.warn(`[orch] azureml runtime tests skipped: ${skip}`);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function until<T>(check: () => T | Promise<T>, what: string, ms = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skip)("the azureml runtime", () => {
  it("submits the compiled body through the SDK unchanged, once per run, and runs it", async () => {
    h = await createHarness({ projectRoot, server: { throttleOnce: ["PUT jobs", "GET jobs", "PUT environments"] } });
    const { runtime, store } = await h.runtime();
    const snapshot = snap(small, { rows: 3 });
    const handle = await runtime.submit(snapshot, { runId: "aml-1", signal: new AbortController().signal });
    expect(handle.url).toBe(`https://ml.azure.com/runs/orch-aml-1?wsid=${encodeURIComponent("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/orch-test-rg/providers/Microsoft.MachineLearningServices/workspaces/orch-test-ws")}`);
    const outcome = await handle.wait();
    expect(outcome.run.status).toBe("succeeded");
    expect(outcome.steps.map((s) => [s.stepId, s.status]).sort()).toEqual([["evaluate", "succeeded"], ["load_data", "succeeded"], ["report", "succeeded"], ["train", "succeeded"]]);
    // What the SDK's serializer (its PipelineJob mapper) sent is what was compiled: no key dropped or renamed.
    const { pipelineJob } = await import("./pipeline-job.js");
    const { parseComponentConfig } = await import("@orch/core/plugin");
    const plugin = (await import("./index.js")).default;
    const compiled = pipelineJob({ config: parseComponentConfig(plugin, h.config), snapshot, runId: "aml-1", image: "orch-node-base:local", store });
    expect(h.server.jobs.get("orch-aml-1")!.body).toEqual(JSON.parse(JSON.stringify(compiled)));
    // Throttled once each (429 + Retry-After), then retried by the SDK's pipeline.
    expect(h.server.requests.filter((r) => r.status === 429)).toHaveLength(3);
    // The environment version of the image was created once.
    expect([...h.server.environments.keys()]).toEqual([expect.stringMatching(/^orch-project:[0-9a-f]{16}$/)]);

    // Submitting the same run again (a retried submit) adopts the job instead of creating another.
    const again = await runtime.submit(snapshot, { runId: "aml-1", signal: new AbortController().signal, resume: true });
    expect((await again.wait()).run.status).toBe("succeeded");
    expect(h.server.requests.filter((r) => r.method === "PUT" && r.path.includes("/jobs/orch-aml-1") && r.status !== 429)).toHaveLength(1);
    // The same run id with another snapshot is refused.
    await expect(runtime.submit(snap(small, { rows: 5 }), { runId: "aml-1", signal: new AbortController().signal, resume: true })).rejects.toMatchObject({ code: "E_RUN_EXISTS" });

    // Logs: the step's lines, from the journal.
    const lines: string[] = [];
    for await (const line of runtime.logs!("aml-1", "load_data")) lines.push(line);
    expect(lines.join("\n")).toContain("loaded 3 rows");
    expect(await runtime.status!("aml-1")).toBe("succeeded");
  });

  it("stop cancels the pipeline job: its child jobs are Canceled, the run and its steps stopped", async () => {
    h = await createHarness({ projectRoot });
    const { runtime, store } = await h.runtime();
    const gate = join(mkdtempSync(join(tmpdir(), "orch-aml-gate-")), "open");
    const handle = await runtime.submit(snap(gated, { gate }), { runId: "aml-stop", signal: new AbortController().signal });
    await until(async () => (await readStepRecords(store, "aml-stop")).some((s) => s.stepId === "wait_for_gate" && s.status === "running"), "the gated step to run");
    await runtime.stop!("aml-stop");
    const outcome = await handle.wait();
    expect(outcome.run.status).toBe("stopped");
    expect(h.server.jobs.get("orch-aml-stop")!.status).toBe("Canceled");
    expect([...h.server.jobs.values()].filter((j) => j.parentJobName === "orch-aml-stop").map((j) => j.status)).toEqual(["Canceled", "Canceled"]);
    const steps = Object.fromEntries((await readStepRecords(store, "aml-stop")).map((s) => [s.stepId, s.status]));
    expect(steps).toEqual({ wait_for_gate: "stopped", report: "stopped" });
    expect(h.server.requests.some((r) => r.method === "POST" && r.path.includes("/jobs/orch-aml-stop/cancel") && r.status === 202)).toBe(true);
    writeFileSync(gate, "");
  });

  it("with synchronous: false, submit returns at once and status() records the run's end once the job has finished", async () => {
    h = await createHarness({ projectRoot });
    const { runtime, store } = await h.runtime({ synchronous: false });
    const handle = await runtime.submit(snap(small, { rows: 2 }), { runId: "aml-async", signal: new AbortController().signal });
    expect((await handle.wait()).run.status).toBe("running");
    await h.server.waitFor("orch-aml-async", ["Completed", "Failed", "Canceled"]);
    expect(await runtime.status!("aml-async")).toBe("succeeded");
    expect((await readRunRecord(store, "aml-async"))?.status).toBe("succeeded");
  });

  it("a failing step fails the run; the step after it never runs and is recorded skipped", async () => {
    h = await createHarness({ projectRoot });
    const { runtime, store } = await h.runtime();
    const outcome = await (await runtime.submit(snap(failingPipeline), { runId: "aml-fail", signal: new AbortController().signal })).wait();
    expect(outcome.run.status).toBe("failed");
    const steps = Object.fromEntries((await readStepRecords(store, "aml-fail")).map((s) => [s.stepId, s]));
    expect(steps.always_fails!.status).toBe("failed");
    expect(steps.always_fails!.error?.message).toContain("this step always fails");
    expect(steps.report!.status).toBe("skipped");
    expect((await readRunRecord(store, "aml-fail"))?.status).toBe("failed");
    expect(h.server.jobs.get("orch-aml-fail")!.status).toBe("Failed");
  });
});
