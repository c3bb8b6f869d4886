/**
 * Snapshot → SageMaker pipeline definition: the structure validates against the schema of what orch
 * emits, cross-references hold, and each orch setting lands where SageMaker reads it.
 */
import { describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { isOrchError, parseComponentConfig, type Snapshot } from "@orch/core/plugin";
import plugin from "./index.js";
import { compileDefinition, type PipelineDefinition } from "./definition.js";
import { definitionProblems } from "../test/check-definition.js";
import { failing, gpu, quickstart } from "../test/fixtures/project/src/pipeline.js";

const projectRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
const ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution";
const IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/training:1.0";
const store = { flavor: "s3", config: { path: "s3://my-bucket/orch" } };
const config = (extra: Record<string, unknown> = {}) => parseComponentConfig(plugin, { executionRole: ROLE, region: "eu-west-1", image: IMAGE, ...extra });
const snapshotOf = (p: Parameters<typeof compilePipeline>[0], params: unknown = {}) => compilePipeline(p, params, { projectRoot }).snapshot;
const compile = (snapshot: Snapshot, extra: Record<string, unknown> = {}) => compileDefinition({ snapshot, config: config(extra), image: IMAGE, storeSpec: store });
const stepOf = (definition: PipelineDefinition, name: string) => definition.Steps.find((s) => s.Name === name)!;

function thrown(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    if (isOrchError(error)) return error;
    throw error;
  }
  throw new Error("expected an OrchError");
}

describe("the pipeline definition", () => {
  it("validates against the schema of SageMaker's format, with DependsOn, names and parameters consistent", () => {
    const { definition } = compile(snapshotOf(quickstart, { rows: 6 }), { subnets: ["subnet-0abc"], securityGroupIds: ["sg-0123"], volumeKmsKeyId: "alias/orch", tags: { project: "iris" }, enableNetworkIsolation: false });
    expect(definitionProblems(definition)).toEqual([]);
    expect(definition.Version).toBe("2020-12-01");
    expect(definition.Steps.map((s) => s.Name)).toEqual(["load_data", "train", "evaluate"]);
    expect(stepOf(definition, "train").DependsOn).toEqual(["load_data"]);
    expect(stepOf(definition, "evaluate").DependsOn).toEqual(["train"]);
    expect(stepOf(definition, "load_data").DependsOn).toBeUndefined();
    expect(definition.Parameters.map((p) => [p.Name, p.Type])).toEqual([["OrchRunId", "String"], ["rows", "Integer"]]);
    const train = stepOf(definition, "train").Arguments;
    expect(train.NetworkConfig).toEqual({ EnableNetworkIsolation: false, VpcConfig: { Subnets: ["subnet-0abc"], SecurityGroupIds: ["sg-0123"] } });
    expect(train.ProcessingResources.ClusterConfig.VolumeKmsKeyId).toBe("alias/orch");
    expect(train.Tags).toEqual([{ Key: "project", Value: "iris" }, { Key: "team", Value: "ml" }]);
    expect(train.RoleArn).toBe(ROLE);
  });

  it("the schema check refuses what SageMaker would: unknown fields, bad names, dangling DependsOn and parameter references", () => {
    const { definition } = compile(snapshotOf(quickstart, { rows: 6 }));
    const mutate = (change: (d: any) => void) => {
      const copy = structuredClone(definition) as any;
      change(copy);
      return definitionProblems(copy);
    };
    expect(mutate((d) => (d.Steps[0].Arguments.AppSpecification.ImageUrl = "x")).join()).toContain("additional properties");
    expect(mutate((d) => (d.Steps[0].Name = "load data")).join()).toContain("pattern");
    expect(mutate((d) => (d.Steps[1].DependsOn = ["nope"])).join()).toContain("unknown step nope");
    expect(mutate((d) => (d.Steps[1].Name = "load_data")).join()).toContain("used twice");
    expect(mutate((d) => (d.Parameters = d.Parameters.slice(1))).join()).toContain("undeclared parameter OrchRunId");
    expect(mutate((d) => (d.Steps[0].Arguments.Environment.X = "v".repeat(257))).join()).toContain("256");
  });

  it("runs orch-entrypoint step for each step, the run id from the OrchRunId parameter, the store in the environment", () => {
    const { definition } = compile(snapshotOf(quickstart, { rows: 6 }));
    const app = stepOf(definition, "train").Arguments;
    expect(app.AppSpecification).toEqual({
      ImageUri: IMAGE,
      ContainerEntrypoint: ["orch-entrypoint"],
      ContainerArguments: ["step", "--run-id", { Get: "Parameters.OrchRunId" }, "--step", "train", "--project-root", "/app"],
    });
    expect(app.Environment).toEqual({ ORCH_RUN_ID: { Get: "Parameters.OrchRunId" }, ORCH_STEP_ID: "train", ORCH_ARTIFACT_STORE: JSON.stringify(store) });
    // No credentials travel in the definition: processing jobs get theirs from the execution role.
    expect(JSON.stringify(definition)).not.toMatch(/AWS_SECRET|AWS_ACCESS_KEY/);
  });

  it("is the same text whatever the parameter values, so the pipeline is not updated for new values", () => {
    const a = JSON.stringify(compile(snapshotOf(quickstart, { rows: 6 })).definition);
    const b = JSON.stringify(compile(snapshotOf(quickstart, { rows: 600 })).definition);
    expect(a).toBe(b);
  });

  it("chooses the smallest ml.* type for the resources; settings.sagemaker.instanceType wins; nothing asked gets the default", () => {
    const { definition } = compile(snapshotOf(quickstart, { rows: 6 }));
    const type = (name: string) => stepOf(definition, name).Arguments.ProcessingResources.ClusterConfig.InstanceType;
    expect(type("train")).toBe("ml.m5.xlarge"); // 3 CPU, 12GiB → 4 CPU, 16GiB
    expect(type("evaluate")).toBe("ml.c5.2xlarge"); // named in settings.sagemaker
    expect(type("load_data")).toBe("ml.m5.xlarge"); // nothing asked: the default
    expect(stepOf(compile(snapshotOf(quickstart, { rows: 1 }), { instanceType: "ml.m5.large" }).definition, "load_data").Arguments.ProcessingResources.ClusterConfig.InstanceType).toBe("ml.m5.large");
    expect(stepOf(compile(snapshotOf(gpu)).definition, "on_gpu").Arguments.ProcessingResources.ClusterConfig.InstanceType).toBe("ml.g4dn.2xlarge"); // 1 GPU, 20GiB
  });

  it("refuses resources no instance type satisfies, naming the step and the override", () => {
    const snapshot = snapshotOf(gpu);
    snapshot.steps.on_gpu!.settings.resources = { gpuCount: 16 };
    const error = thrown(() => compile(snapshot));
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message).toContain('Step "on_gpu"');
    expect(error.message).toContain("ml.g5.48xlarge");
    expect(error.hint).toContain("settings.sagemaker.instanceType");
    snapshot.steps.on_gpu!.settings.resources = { memory: "2TiB" };
    expect(thrown(() => compile(snapshot)).message).toContain("2TiB");
  });

  it("maps retries to RetryPolicies, timeouts to MaxRuntimeInSeconds (the whole time budget), volumes and defaults", () => {
    const { definition } = compile(snapshotOf(quickstart, { rows: 6 }), { maxRuntimeInSeconds: 3600 });
    const train = stepOf(definition, "train");
    expect(train.RetryPolicies).toEqual([{ ExceptionType: ["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "Step.SERVICE_FAULT", "Step.THROTTLING"], IntervalSeconds: 10, BackoffRate: 2, MaxAttempts: 2 }]);
    // 3 attempts × 600 s + retry delays 10 s + 20 s + 30 s of start-up grace.
    expect(train.Arguments.StoppingCondition.MaxRuntimeInSeconds).toBe(1800 + 30 + 30);
    expect(train.Arguments.ProcessingResources.ClusterConfig.VolumeSizeInGB).toBe(50);
    const load = stepOf(definition, "load_data");
    expect(load.RetryPolicies).toBeUndefined();
    expect(load.Arguments.StoppingCondition.MaxRuntimeInSeconds).toBe(3600);
    expect(load.Arguments.ProcessingResources.ClusterConfig.VolumeSizeInGB).toBe(30);
  });

  it("refuses a dynamic pipeline and invalid settings.sagemaker, naming the step and key", () => {
    const dynamic = { ...snapshotOf(quickstart, { rows: 1 }) };
    dynamic.pipeline = { ...dynamic.pipeline, dynamic: true };
    const error = thrown(() => compile(dynamic));
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toContain("dynamic");
    const bad = snapshotOf(failing);
    bad.steps.load_data!.settings.flavors.sagemaker = { instanceType: "m5.large" };
    const invalid = thrown(() => compile(bad));
    expect(invalid.code).toBe("E_SETTINGS_INVALID");
    expect(invalid.message).toContain('Step "load_data"');
    expect(invalid.key).toBe("settings.sagemaker.instanceType");
    bad.steps.load_data!.settings.flavors.sagemaker = { instanceTyp: "ml.m5.large" };
    expect(thrown(() => compile(bad)).message).toContain("instanceTyp");
  });

  it("refuses an artifact store configuration longer than SageMaker's environment values allow", () => {
    const snapshot = snapshotOf(quickstart, { rows: 1 });
    const long = { flavor: "s3", config: { path: `s3://my-bucket/${"p".repeat(300)}` } };
    const error = thrown(() => compileDefinition({ snapshot, config: config(), image: IMAGE, storeSpec: long }));
    expect(error.code).toBe("E_CONFIG_INVALID");
    expect(error.message).toContain("256");
  });
});
