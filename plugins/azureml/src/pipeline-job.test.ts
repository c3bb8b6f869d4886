import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createLocalArtifactStore, isOrchError, parseComponentConfig, type Snapshot } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import plugin from "./index.js";
import { CONTROL_OUTPUT, FINALIZE_NODE, SETUP_NODE, nodeName, pipelineJob, shellQuote, type PipelineJobBody } from "./pipeline-job.js";
import { bindingProblems } from "../test/arm-server.js";
import { jobBodyProblems } from "../test/spec-validator.js";
import { dynamicPipeline, failingPipeline, gpuPipeline, hugePipeline, small } from "../test/fixtures/project/src/pipeline.js";
import { pipeline, step } from "@orch/core";

const projectRoot = fileURLToPath(new URL("../test/fixtures/project/", import.meta.url)).replace(/\/$/, "");
const store = createLocalArtifactStore(join(projectRoot, ".orch-never-written"));
const config = (extra: Record<string, unknown> = {}) =>
  parseComponentConfig(plugin, { subscriptionId: "sub-1", resourceGroup: "rg", workspace: "ws", computeTarget: "cpu-cluster", image: "myacr.azurecr.io/proj:1", ...extra });
const snap = (p: Parameters<typeof compilePipeline>[0], params: Record<string, unknown> = {}): Snapshot => compilePipeline(p, params, { projectRoot }).snapshot;
const build = (s: Snapshot, extra: Record<string, unknown> = {}): PipelineJobBody => pipelineJob({ config: config(extra), snapshot: s, runId: "run-1", image: "myacr.azurecr.io/proj:1", store });

function thrown(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("the pipeline job of a schedule (each firing its own run, named by Azure ML)", () => {
  const scheduled = (s: Snapshot) =>
    pipelineJob({ config: config(), snapshot: s, runId: "orch-small-schedule", image: "myacr.azurecr.io/proj:1", store, scheduled: { snapshotKey: "schedules/azureml/orch-small-schedule/snapshot.json", stack: "aml" } });

  it("carries no fixed run id: the steps read it from AZUREML_ROOT_RUN_ID; setup runs before every step, finalize after all", () => {
    const body = scheduled(snap(small, { rows: 4 }));
    const jobs = body.properties.jobs;
    expect(Object.keys(jobs)).toEqual([SETUP_NODE, "load_data", "train", "evaluate", "report", FINALIZE_NODE]);
    expect(JSON.stringify(body)).not.toContain("--run-id");
    expect(JSON.stringify(body)).not.toContain("ORCH_RUN_ID\"");
    expect(body.properties.tags).not.toHaveProperty("orch.run-id");
    expect(jobs.train!.command).toBe("orch-entrypoint step --step train --project-root /app");
    expect(jobs.train!.environment_variables).toMatchObject({ ORCH_RUN_ID_FROM: "AZUREML_ROOT_RUN_ID", ORCH_STEP_ID: "train" });
    expect(jobs[SETUP_NODE]!.command).toBe("orch-azureml-run setup --snapshot schedules/azureml/orch-small-schedule/snapshot.json --stack aml --project-root /app");
    expect(jobs[FINALIZE_NODE]!.command).toBe("orch-azureml-run finalize --project-root /app");
    for (const node of [SETUP_NODE, FINALIZE_NODE]) expect(jobs[node]!.environment_variables).toMatchObject({ ORCH_RUN_ID_FROM: "AZUREML_ROOT_RUN_ID", ORCH_ARTIFACT_STORE: expect.any(String) });
    // Every step waits for setup (report too, which has no upstream step); finalize waits for every step.
    for (const id of ["load_data", "train", "evaluate", "report"]) expect(jobs[id]!.inputs[`after_${SETUP_NODE}`]).toEqual({ job_input_type: "literal", value: "${{parent.jobs.orch_setup.outputs.orch_done}}" });
    expect(Object.keys(jobs[FINALIZE_NODE]!.inputs).sort()).toEqual(["after_evaluate", "after_load_data", "after_report", "after_train"]);
    expect(bindingProblems(body)).toEqual([]);
    expect(jobBodyProblems(body)).toEqual([]);
  });

  it("a plain run's job is unchanged: a fixed --run-id, no setup or finalize node", () => {
    const body = build(snap(small, { rows: 4 }));
    expect(Object.keys(body.properties.jobs)).not.toContain(SETUP_NODE);
    expect(body.properties.jobs.report!.command).toContain("--run-id run-1");
    expect(body.properties.tags["orch.run-id"]).toBe("run-1");
  });

  it("refuses a step whose node name is orch's setup or finalize node", () => {
    const clash = step({ name: "orch_finalize" }, () => 1);
    const p = pipeline({ name: "clash" }, () => void clash());
    expect(thrown(() => scheduled(snap(p)))).toMatchObject({ code: "E_CAPABILITY_UNSUPPORTED", step: "orch_finalize", message: expect.stringContaining("finalize node") });
    // Not scheduled: the name is free.
    expect(Object.keys(build(snap(p)).properties.jobs)).toEqual(["orch_finalize"]);
  });
});

describe("the pipeline job of a snapshot", () => {
  it("has one command node per step running orch-entrypoint step, ordered by control bindings", () => {
    const body = build(snap(small, { rows: 4 }));
    const jobs = body.properties.jobs;
    expect(Object.keys(jobs)).toEqual(["load_data", "train", "evaluate", "report"]);
    expect(jobs.train!.command).toBe("orch-entrypoint step --run-id run-1 --step train --project-root /app");
    // evaluate needs train and load_data: one control input per upstream node, bound to its control output.
    expect(jobs.evaluate!.inputs).toEqual({
      after_train: { job_input_type: "literal", value: "${{parent.jobs.train.outputs.orch_done}}" },
      after_load_data: { job_input_type: "literal", value: "${{parent.jobs.load_data.outputs.orch_done}}" },
    });
    expect(jobs.load_data!.outputs).toEqual({ [CONTROL_OUTPUT]: { job_output_type: "uri_folder" } });
    // report depends on nothing and nothing depends on evaluate/report: no bindings, no control outputs.
    expect(jobs.report!.inputs).toEqual({});
    expect(jobs.evaluate!.outputs).toEqual({});
    expect(bindingProblems(body)).toEqual([]);
  });

  it("is a valid PipelineJob of the ARM OpenAPI spec the SDK pins (2022-10-01), which a misspelt key is not", () => {
    const body = build(snap(small, { rows: 4 }));
    expect(jobBodyProblems(body)).toEqual([]);
    const misspelt = structuredClone(body) as unknown as { properties: Record<string, unknown> };
    misspelt.properties.experiment_name = misspelt.properties.experimentName;
    expect(jobBodyProblems(misspelt)).toEqual(["/properties/: must NOT have additional properties (experiment_name)"]);
    expect(jobBodyProblems({ properties: { ...body.properties, jobType: "pipeline" } })[0]).toContain("no JobBase subtype");
    expect(jobBodyProblems({ properties: { ...body.properties, computeId: 7 } })).toEqual(["/properties/computeId: must be string"]);
  });

  it("uses ARM's camelCase for the resource and Azure ML's snake_case inside the nodes", () => {
    const { properties } = build(snap(small, { rows: 4 }));
    expect(Object.keys(properties).sort()).toEqual(["computeId", "displayName", "experimentName", "jobType", "jobs", "properties", "settings", "tags"]);
    expect(properties.jobType).toBe("Pipeline");
    expect(properties.computeId).toBe("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/cpu-cluster");
    expect(properties.settings).toEqual({ default_compute: properties.computeId, continue_on_step_failure: false, force_rerun: true });
    expect(Object.keys(properties.jobs.train!).sort()).toEqual(["command", "computeId", "display_name", "environment_id", "environment_variables", "inputs", "limits", "name", "outputs", "resources", "tags", "type"]);
    expect(properties.jobs.train!.environment_id).toMatch(/\/workspaces\/ws\/environments\/orch-project\/versions\/[0-9a-f]{16}$/);
  });

  it("chooses the VM size from resources, lets settings.azureml.instanceType win, and sets the timeout", () => {
    const { jobs } = build(snap(small, { rows: 4 })).properties;
    // 4 CPUs and 16GiB: DS3_v2 (4, 14GiB) is too small, E4s_v3 (4, 32GiB) is the smallest that fits.
    expect(jobs.train!.resources).toEqual({ instance_type: "Standard_E4s_v3", instance_count: 1 });
    expect(jobs.evaluate!.resources).toEqual({ instance_type: "Standard_E4s_v3", instance_count: 1 });
    expect(jobs.load_data!.resources).toBeUndefined();
    // 600 s per attempt, 2 attempts, plus start-up grace.
    expect(jobs.train!.limits).toEqual({ job_limits_type: "Command", timeout: "PT1230S" });
    expect(jobs.evaluate!.environment_variables).toMatchObject({ EVAL_MODE: "full", ORCH_RUN_ID: "run-1", ORCH_STEP_ID: "evaluate" });
    expect(JSON.parse(jobs.evaluate!.environment_variables.ORCH_ARTIFACT_STORE!)).toMatchObject({ flavor: "local" });
    expect(build(snap(gpuPipeline)).properties.jobs.gpu_train!.resources).toEqual({ instance_type: "Standard_NC12s_v3", instance_count: 1 });
  });

  it("refuses resources no VM size satisfies, naming the step and the setting that overrides", () => {
    const error = thrown(() => build(snap(hugePipeline)));
    expect(isOrchError(error) && error.code).toBe("E_SETTINGS_INVALID");
    expect(String((error as Error).message)).toContain("huge");
    expect(JSON.stringify(error)).toContain("settings.azureml.instanceType");
  });

  it("refuses a misspelt settings.azureml key, naming the step and the key", () => {
    const s = snap(small, { rows: 4 });
    s.steps.train!.settings.flavors.azureml = { instanceTyp: "Standard_DS3_v2" };
    const error = thrown(() => build(s)) as Error & { code: string; key?: string };
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message).toContain('Step "train"');
    expect(error.key).toBe("settings.azureml.instanceTyp");
  });

  it("refuses a dynamic pipeline with a clear error", () => {
    const error = thrown(() => build(snap(dynamicPipeline))) as Error & { code: string };
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toContain("dynamic");
  });

  it("continues after a failed step when the pipeline says continue-on-failure", () => {
    const s = snap(failingPipeline);
    s.pipeline.settings.executionMode = "continue-on-failure";
    expect(build(s).properties.settings.continue_on_step_failure).toBe(true);
  });

  it("gives step ids that are no Azure ML node name a distinct valid name, and quotes arguments for the shell", () => {
    expect(nodeName("train")).toBe("train");
    expect(nodeName("Train-2")).toMatch(/^train_2_[0-9a-f]{6}$/);
    expect(nodeName("Train-2")).not.toBe(nodeName("train_2"));
    expect(nodeName("9lives")).toMatch(/^_9lives_[0-9a-f]{6}$/);
    expect(shellQuote("/app")).toBe("/app");
    expect(shellQuote("it's a dir")).toBe(`'it'"'"'s a dir'`);
  });

  it("finds bindings to missing jobs or outputs, and cycles", () => {
    const body = build(snap(small, { rows: 4 }));
    const jobs = body.properties.jobs;
    jobs.evaluate!.inputs.after_train!.value = "${{parent.jobs.nope.outputs.orch_done}}";
    jobs.load_data!.inputs.after_report = { job_input_type: "literal", value: "${{parent.jobs.report.outputs.orch_done}}" };
    jobs.report!.inputs.after_load_data = { job_input_type: "literal", value: "${{parent.jobs.load_data.outputs.orch_done}}" };
    jobs.report!.outputs = { orch_done: { job_output_type: "uri_folder" } };
    const problems = bindingProblems(body);
    expect(problems).toContain("jobs.evaluate.inputs.after_train: binds to job nope, which the pipeline does not have");
    expect(problems.some((p) => p.includes("cycle"))).toBe(true);
  });
});
