import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type PipelineDefinition, type StepRecord } from "@orch/core";
import { readRunRecord, readStepRecord, readStepRecords } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import { createHarness, projectRoot, until, type Harness } from "../test/harness.js";
import { failing, fanout, quickstart, train } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function submit(harness: Harness, pipeline: PipelineDefinition<any>, params: Record<string, unknown>, extra = {}) {
  const runtime = harness.runtime(extra);
  const { snapshot } = compilePipeline(pipeline, params, { projectRoot });
  const runId = newRunId();
  const updates: StepRecord[] = [];
  const handle = await runtime.submit(snapshot, { runId, signal: new AbortController().signal, observer: { stepUpdated: (r) => void updates.push(r) } });
  return { runtime, runId, handle, updates, snapshot };
}

const stepJobs = (harness: Harness) => harness.server.created.filter((c) => c.startsWith("jobs/") && !/^jobs\/orch-[0-9]{8}-[0-9]{6}-[0-9]{3}-[a-z0-9]{6}$/.test(c));

describe("kubernetes orchestrator against a loopback API server", () => {
  it("runs the quickstart end to end: an orchestrator Job, one Job per step, artifacts written by the Jobs", async () => {
    // A namespace whose default service account appears only after a moment (pods are refused until then).
    h = await createHarness({ serviceAccounts: [] });
    setTimeout(() => h!.server.addServiceAccount("default"), 300);
    const result = await quickstart.run({ stack: h.stack, params: { rows: 20 }, projectRoot, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(await result.load(train)).toHaveProperty("setosa");
    expect(result.steps.map((s) => `${s.stepId}:${s.status}`).sort()).toEqual(["evaluate:succeeded", "load_data:succeeded", "train:succeeded"]);
    // One orchestrator Job and one Job per step, each with exactly one pod.
    expect(h.server.created.filter((c) => c.startsWith("jobs/"))).toHaveLength(4);
    expect(h.server.created.filter((c) => c.startsWith("pods/"))).toHaveLength(4);
    expect(h.server.requests.some((r) => r.path.endsWith("/serviceaccounts/default") && r.method === "GET")).toBe(true);
    // The journal was written by the pods: the run record by the orchestrator, step logs by the step runner.
    const run = await readRunRecord(h.store, result.runId);
    expect(run?.status).toBe("succeeded");
    expect(await readFile(join(h.storePath, "runs", result.runId, "logs", "load_data.log"), "utf8")).toContain("loaded 20 rows");
    const trainJob = h.server.list("jobs", `orch.dev/run-id=${result.runId},orch.dev/step=train`)[0]!;
    expect(trainJob.spec.template.spec.containers[0].resources.limits).toEqual({ cpu: "500m", memory: "256Mi" });
    expect(trainJob.spec.backoffLimit).toBe(1);
  });

  it("resumes after the orchestrator pod dies mid-run without re-running or re-creating finished steps", async () => {
    h = await createHarness();
    const gate = join(h.dir, "gate");
    const { runId, handle } = await submit(h, quickstart, { rows: 10, gate });
    await until(async () => {
      const records = await readStepRecords(h!.store, runId);
      const done = records.filter((r) => r.status === "succeeded").map((r) => r.stepId).sort();
      return done.join() === "evaluate,load_data,train" && records.some((r) => r.stepId === "wait_for_gate" && r.status === "running");
    }, "three finished steps and a running one");
    const before = await Promise.all(["load_data", "train", "evaluate"].map(async (id) => JSON.stringify(await readStepRecord(h!.store, runId, id))));
    const [orchestratorPod] = h.server.list("pods", `orch.dev/run-id=${runId},orch.dev/component=orchestrator`);
    h.server.killPodProcess(orchestratorPod!.metadata.name, "SIGKILL"); // node crash / OOM kill
    // The Job controller starts a replacement pod (same command, --resume); it adopts the running step's Job.
    await until(() => h!.server.list("pods", `orch.dev/run-id=${runId},orch.dev/component=orchestrator`).some((p) => p.status?.phase === "Running" && p.metadata.name !== orchestratorPod!.metadata.name), "a replacement orchestrator pod");
    await until(() => h!.server.requests.filter((r) => r.method === "POST" && r.path.endsWith("/jobs") && r.body?.metadata?.name?.includes("wait-for-gate")).length >= 2, "the replacement to find the running step's Job");
    await writeFile(gate, "open");
    const { run, steps } = await handle.wait();
    expect(run.status).toBe("succeeded");
    expect(steps.find((s) => s.stepId === "wait_for_gate")?.status).toBe("succeeded");
    const after = await Promise.all(["load_data", "train", "evaluate"].map(async (id) => JSON.stringify(await readStepRecord(h!.store, runId, id))));
    expect(after).toEqual(before);
    // Every step Job was created exactly once; only the orchestrator got a second pod.
    expect(stepJobs(h).sort()).toEqual(stepJobs(h).filter((v, i, a) => a.indexOf(v) === i).sort());
    expect(stepJobs(h)).toHaveLength(4);
    expect(h.server.created.filter((c) => c.startsWith("pods/") && c.includes("wait-for-gate"))).toHaveLength(1);
    expect(h.server.list("pods", `orch.dev/run-id=${runId},orch.dev/component=orchestrator`)).toHaveLength(2);
  });

  it("keeps following Jobs when watches drop and the resourceVersion is compacted (410 Gone → relist)", async () => {
    h = await createHarness({ bookmarkIntervalMs: 200 });
    const gate = join(h.dir, "gate");
    const { runtime, runId, handle } = await submit(h, quickstart, { rows: 5, gate });
    await until(async () => (await readStepRecord(h!.store, runId, "wait_for_gate"))?.status === "running", "the gated step to run");
    const jobs = runtime.trackers.get(`jobs/${runId}`)!;
    const listsBefore = jobs.lists;
    h.server.compact();
    h.server.dropWatches();
    await until(() => jobs.lists > listsBefore, "a relist after 410 Gone");
    await writeFile(gate, "open");
    const { run } = await handle.wait();
    expect(run.status).toBe("succeeded");
    // The watch asked for bookmarks and resumed from a resourceVersion.
    expect(h.server.requests.some((r) => r.query.watch === "true" && r.query.allowWatchBookmarks === "true" && r.query.resourceVersion)).toBe(true);
  });

  it("stops a run by deleting its Jobs by label, with DeleteOptions in the request body", async () => {
    h = await createHarness();
    const gate = join(h.dir, "never-opened");
    const { runtime, runId, handle } = await submit(h, quickstart, { rows: 5, gate });
    await until(async () => (await readStepRecord(h!.store, runId, "wait_for_gate"))?.status === "running", "the gated step to run");
    await runtime.stop!(runId);
    const { run } = await handle.wait();
    expect(run.status).toBe("stopped");
    const deletion = h.server.requests.find((r) => r.method === "DELETE" && r.path === "/apis/batch/v1/namespaces/default/jobs");
    expect(deletion?.query.labelSelector).toBe(`orch.dev/run-id=${runId}`);
    expect(deletion?.body).toMatchObject({ propagationPolicy: "Background", gracePeriodSeconds: 30 });
    expect(h.server.list("jobs", `orch.dev/run-id=${runId}`)).toEqual([]);
    expect(await runtime.status!(runId)).toBe("stopped");
  });

  it("reads and follows a step's pod logs", async () => {
    h = await createHarness();
    const gate = join(h.dir, "gate");
    const { runtime, runId, handle } = await submit(h, quickstart, { rows: 5, gate });
    await until(async () => (await readStepRecord(h!.store, runId, "wait_for_gate"))?.status === "running", "the gated step to run");
    const followed: string[] = [];
    const following = (async () => {
      for await (const line of runtime.logs!(runId, "wait_for_gate", { follow: true })) followed.push(line);
    })();
    await writeFile(gate, "open");
    await following; // ends when the container ends
    expect(followed.at(-1)).toBe("step wait_for_gate: succeeded");
    await handle.wait();
    const lines: string[] = [];
    for await (const line of runtime.logs!(runId, "load_data")) lines.push(line);
    expect(lines.join("\n")).toContain("loaded 5 rows");
    expect(await runtime.status!(runId)).toBe("succeeded");
    expect(await runtime.status!("20000101-000000-000-nosuch")).toBeUndefined();
  });

  it("fails a run whose step fails, without retrying the pod for a step failure", async () => {
    h = await createHarness();
    const { handle } = await submit(h, failing, {});
    const { run, steps } = await handle.wait();
    expect(run.status).toBe("failed");
    const failed = steps.find((s) => s.stepId === "always_fails")!;
    expect(failed.status).toBe("failed");
    expect(failed.error?.message).toContain("this step always fails");
    // exit code 1 matches the FailJob rule: one pod, no Job-level retry on top of the runner's.
    expect(h.server.created.filter((c) => c.startsWith("pods/") && c.includes("always-fails"))).toHaveLength(1);
    const job = h.server.list("jobs").find((j) => j.metadata.name.includes("always-fails"))!;
    expect(job.status.conditions.find((c: any) => c.type === "Failed").reason).toBe("PodFailurePolicy");
  });

  it("fails a step at once when its pod can never start (image pull error), naming the reason", async () => {
    h = await createHarness();
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
    snapshot.steps.train!.settings.flavors.kubernetes = { image: "registry.example.com/does-not-exist:1" };
    const runId = newRunId();
    const { run, steps } = await (await runtime.submit(snapshot, { runId, signal: new AbortController().signal })).wait();
    expect(run.status).toBe("failed");
    const trainRecord = steps.find((s) => s.stepId === "train")!;
    expect(trainRecord.error?.message).toMatch(/cannot start: ErrImagePull: pull access denied for registry.example.com\/does-not-exist:1/);
    expect(steps.find((s) => s.stepId === "load_data")?.status).toBe("succeeded");
    // The stuck Job was deleted rather than left pending.
    expect(h.server.list("jobs").filter((j) => j.metadata.name.includes("-train-"))).toEqual([]);
  });

  it("records a failed run when the orchestrator pod itself cannot start", async () => {
    h = await createHarness({ config: { image: "registry.example.com/does-not-exist:1" } });
    const { handle, runId } = await submit(h, quickstart, { rows: 5 });
    const { run } = await handle.wait();
    expect(run.status).toBe("failed");
    expect(run.error?.message).toContain("ErrImagePull");
    expect((await readRunRecord(h.store, runId))?.status).toBe("failed");
  });

  it("refuses a second submit of the same run id, and returns at once when fire-and-forget", async () => {
    h = await createHarness();
    const { runtime, runId, handle, snapshot } = await submit(h, quickstart, { rows: 5 }, { synchronous: false });
    const early = await handle.wait();
    expect(["running", undefined]).toContain(early.run.status === "running" ? "running" : undefined);
    await expect(runtime.submit(snapshot, { runId, signal: new AbortController().signal })).rejects.toMatchObject({ code: "E_USAGE" });
    await until(async () => (await runtime.status!(runId)) === "succeeded", "the fire-and-forget run to finish");
  });

  it("runs a dynamic pipeline: the orchestrator pod runs its function and starts a Job per step it calls", async () => {
    h = await createHarness();
    const result = await fanout.run({ stack: h.stack, projectRoot, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(await result.load("join_all")).toBe("ABC");
    const stepIds = result.steps.map((s) => s.stepId);
    expect(stepIds.sort()).toEqual(["join_all", "list_items", "upper", "upper_2", "upper_3"]);
    const jobPosts = h.server.requests.filter((r) => r.method === "POST" && r.path.includes("/jobs"));
    expect(jobPosts.length).toBe(stepIds.length + 1); // one Job per step, plus the orchestrator's
  });
});
