/**
 * The vertex runtime through the real aiplatform SDK against the loopback Vertex AI server, which
 * executes the IR it received (not orch's snapshot) against the fake Cloud Storage bucket.
 */
import { afterEach, describe, expect, it } from "vitest";
import { helpers } from "@google-cloud/aiplatform";
import { readRunRecord, readStepRecords } from "@orch/core/plugin";
import { createHarness, until, watchConnections, type Harness } from "../test/harness.js";
import { sumPipeline, total } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("a run on vertex", () => {
  it("submits the IR as a Struct, runs it in Vertex and loads the result through core, with no connection outside 127.0.0.1", async () => {
    const network = watchConnections();
    try {
      h = await createHarness();
      const result = await sumPipeline.run({ stack: h.stack, projectRoot: h.config.projectRoot!, params: { n: 10 }, handleSignals: false });
      expect(result.status).toBe("succeeded");
      expect(await result.load(total)).toBe(55);
      const request = h.vertex.createdJobs[0]!;
      // What the SDK put on the wire: the whole IR (a plain object would have arrived as {}).
      expect(Object.keys(request.pipelineSpec).sort()).toEqual(["components", "deploymentSpec", "pipelineInfo", "root", "schemaVersion", "sdkVersion"]);
      expect(request.runtimeConfig.gcsOutputDirectory).toBe(`${h.storeConfig.path}/vertex-pipeline-root/${result.runId}`);
      expect(request.runtimeConfig.parameterValues).toEqual({ n: 10, orch_run_id: result.runId });
      expect(request.labels).toMatchObject({ "managed-by": "orch", "orch-flavor": "vertex", "orch-pipeline": "vertex_sum", "orch-run-id": result.runId });
      const job = [...h.vertex.jobs.values()][0]!;
      expect(job.state).toBe("PIPELINE_STATE_SUCCEEDED");
      expect(job.jobDetail.taskDetails.map((t: { taskName: string; state: string }) => `${t.taskName}:${t.state}`)).toEqual(["vertex-sum:SUCCEEDED", "load:SUCCEEDED", "total:SUCCEEDED"]);
      expect((await readRunRecord(h.store, result.runId))?.status).toBe("succeeded");
    } finally {
      expect(network.stop()).toEqual([]);
    }
  });
});

describe("following, stopping and reading a vertex run", () => {
  it("maps a failed task to the step and the run, and skips what depends on it", async () => {
    h = await createHarness();
    const { failing } = await import("../test/fixtures/project/src/pipeline.js");
    const result = await failing.run({ stack: h.stack, projectRoot: h.config.projectRoot!, handleSignals: false });
    expect(result.status).toBe("failed");
    const steps = Object.fromEntries((await readStepRecords(h.store, result.runId)).map((s) => [s.stepId, s]));
    expect(steps.boom?.status).toBe("failed");
    expect(steps.boom?.error?.message).toContain("boom: the step failed on purpose");
    expect(steps.after_gate?.status).toBe("skipped");
    const run = await readRunRecord(h.store, result.runId);
    expect(run?.status).toBe("failed");
    expect(run?.error?.message).toContain("boom");
    expect([...h.vertex.jobs.values()][0]!.state).toBe("PIPELINE_STATE_FAILED");
  });

  it("records a task that Vertex failed before its step could start (the container never ran)", async () => {
    // An entrypoint that does not exist in the image: the task fails without the step writing anything.
    h = await createHarness({ config: { entrypointCommand: ["/nonexistent/orch-entrypoint"] } });
    const result = await sumPipeline.run({ stack: h.stack, projectRoot: h.config.projectRoot!, params: { n: 3 }, handleSignals: false });
    expect(result.status).toBe("failed");
    const steps = Object.fromEntries((await readStepRecords(h.store, result.runId)).map((s) => [s.stepId, s]));
    expect(steps.load?.status).toBe("failed");
    expect(steps.load?.error?.message).toMatch(/^Vertex AI task load: /);
    expect(steps.total?.status).toBe("skipped");
  });

  it("stops a running run: the PipelineJob is cancelled, the running step and the run end stopped", async () => {
    h = await createHarness({ config: { synchronous: false } });
    const { gated } = await import("../test/fixtures/project/src/pipeline.js");
    const gatePath = `${h.dir}/never-opened`;
    const runtime = h.runtime();
    const result = await gated.run({ stack: h.stack, projectRoot: h.config.projectRoot!, params: { gatePath }, handleSignals: false });
    expect(result.status).toBe("running");
    await until(async () => (await readStepRecords(h!.store, result.runId)).find((s) => s.stepId === "gate" && s.status === "running"), "the gate step running");
    expect(await runtime.status!(result.runId)).toBe("running");
    await runtime.stop!(result.runId);
    const job = [...h.vertex.jobs.values()][0]!;
    expect(job.state).toBe("PIPELINE_STATE_CANCELLED");
    expect(h.vertex.requests.some((r) => r.startsWith(`POST /v1/${job.name}:cancel`))).toBe(true);
    expect((await readRunRecord(h.store, result.runId))?.status).toBe("stopped");
    const steps = Object.fromEntries((await readStepRecords(h.store, result.runId)).map((s) => [s.stepId, s.status]));
    expect(steps).toEqual({ gate: "stopped", after_gate: "stopped" });
    expect(await runtime.status!(result.runId)).toBe("stopped");
    // Stopping a finished run changes nothing.
    await runtime.stop!(result.runId);
    expect((await readRunRecord(h.store, result.runId))?.status).toBe("stopped");
  });

  it("settles a run nobody follows from the PipelineJob when its status is asked, and shows each step's log", async () => {
    h = await createHarness({ config: { synchronous: false } });
    const result = await sumPipeline.run({ stack: h.stack, projectRoot: h.config.projectRoot!, params: { n: 4 }, handleSignals: false });
    expect(result.status).toBe("running");
    const runtime = h.runtime();
    await h.vertex.idle();
    expect(await runtime.status!(result.runId)).toBe("succeeded");
    expect((await readRunRecord(h.store, result.runId))?.status).toBe("succeeded");
    const lines: string[] = [];
    for await (const line of runtime.logs!(result.runId, "load")) lines.push(line);
    expect(lines.join("\n")).toContain("loading 4 numbers");
  });
});

describe("what vertex refuses", () => {
  it("refuses a GPU step without an accelerator type, and maps a GKE-style type to Vertex's name", async () => {
    h = await createHarness();
    const { gpuPipeline, typedGpuPipeline } = await import("../test/fixtures/project/src/pipeline.js");
    const { compilePipeline } = await import("@orch/core/host");
    const runtime = h.runtime();
    const gpu = compilePipeline(gpuPipeline, {}, { projectRoot: h.config.projectRoot! }).snapshot;
    await expect(runtime.preflight!(gpu)).rejects.toMatchObject({ code: "E_SETTINGS_INVALID", message: expect.stringContaining('Step "on_gpu" asks for 1 GPU') });
    const typed = compilePipeline(typedGpuPipeline, {}, { projectRoot: h.config.projectRoot! }).snapshot;
    const files = await runtime.compile!(typed);
    expect(files["pipeline.yaml"]).toContain("resourceType: NVIDIA_L4");
    expect(files["pipeline.yaml"]).not.toContain("nvidia.com/gpu");
    // With a default type in the config the untyped step gets it.
    const withDefault = await h.runtime({ acceleratorType: "NVIDIA_TESLA_T4" }).compile!(gpu);
    expect(withDefault["pipeline.yaml"]).toContain("resourceType: NVIDIA_TESLA_T4");
    await expect(h.runtime({ acceleratorType: "nvidia.com/gpu" }).compile!(gpu)).rejects.toMatchObject({ code: "E_SETTINGS_INVALID", message: expect.stringContaining("a Kubernetes resource name") });
    await expect(h.runtime({ acceleratorType: "NVIDIA_TESLA_T5" }).compile!(gpu)).rejects.toMatchObject({ message: expect.stringContaining("Did you mean NVIDIA_TESLA_T4?") });
    expect(h.vertex.createdJobs).toEqual([]);
  });

  it("refuses a dynamic pipeline at submit, before anything reaches Vertex", async () => {
    h = await createHarness();
    const { dynamicPipeline } = await import("../test/fixtures/project/src/pipeline.js");
    await expect(dynamicPipeline.run({ stack: h.stack, projectRoot: h.config.projectRoot!, handleSignals: false })).rejects.toMatchObject({ code: "E_CAPABILITY_UNSUPPORTED", message: expect.stringMatching(/dynamic/) });
    expect(h.vertex.createdJobs).toEqual([]);
  });

  it("refuses a stack whose artifact store is not Cloud Storage", async () => {
    h = await createHarness();
    const { defineStack } = await import("@orch/core");
    const { vertex } = await import("./index.js");
    const stack = defineStack({ name: "bad", orchestrator: vertex(h.config), artifactStore: { flavor: "local", config: { path: `${h.dir}/store` } } });
    await expect(sumPipeline.run({ stack, projectRoot: h.config.projectRoot!, params: { n: 1 }, handleSignals: false })).rejects.toMatchObject({ code: expect.stringMatching(/E_CONFIG_INVALID|E_CAPABILITY_UNSUPPORTED/) });
    expect(h.vertex.createdJobs).toEqual([]);
  });
});
