import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { createLocalArtifactStore, isOrchError, type Snapshot } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import { toKfpYaml, toPipelineSpec, type KfpCompileOptions } from "./index.js";
import { KFP_CONFORMANCE_MISSING, createKfpValidator, findKfpConformance } from "./testing/index.js";
import { chain, dynamicPipeline, settingsMatrix, sumOfSquares } from "../test/fixtures/pipelines.js";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));
const conformance = findKfpConformance();
if (!conformance) console.warn(`@orch/kfp compile tests: ${KFP_CONFORMANCE_MISSING}`);
const validator = conformance ? createKfpValidator(conformance) : undefined;
const store = createLocalArtifactStore(join(projectRoot, ".orch-never-written"));
const options: KfpCompileOptions = { image: "registry.example.com/project:1", projectRoot: "/app", store };
const snap = (p: Parameters<typeof compilePipeline>[0], params?: unknown): Snapshot => compilePipeline(p, params, { projectRoot }).snapshot;

describe.skipIf(!conformance)(`the validator accepts what the KFP SDK writes ${conformance ? "" : KFP_CONFORMANCE_MISSING}`, () => {
  const golden = conformance ? readdirSync(join(conformance, "golden")).sort() : [];
  it.each(golden)("golden sample %s passes", (file) => {
    expect(validator!.validate(readFileSync(join(conformance!, "golden", file), "utf8"))).toEqual([]);
  });

  it("rejects unknown fields, wrong types, dangling references and cycles", () => {
    const ir = toPipelineSpec(snap(sumOfSquares, { count: 3, offset: 1 }), options);
    const spec = structuredClone(ir.pipelineSpec) as any;
    spec.root.dag.tasks.total.dependentTask = ["square"]; // misspelt field
    spec.root.dag.tasks.square.dependentTasks = ["total"]; // cycle square → total → square
    spec.root.dag.tasks["make-numbers"].dependentTasks = ["nowhere"];
    spec.deploymentSpec.executors["exec-square"].container.resources = { cpuLimit: "two" };
    spec.deploymentSpec.executors["exec-orphan"] = { container: { image: "x" } };
    spec.root.dag.tasks.total.retryPolicy = { backoffDuration: "5 minutes" };
    spec.root.inputDefinitions.parameters.count.parameterType = "NUMBER";
    const errors = validator!.validate({ pipelineSpec: spec });
    const expected = [
      /tasks\.total\.dependentTask: unknown field/,
      /dependency cycle/,
      /make-numbers\.dependentTasks: task nowhere does not exist/,
      /exec-square\.container\.resources\.cpuLimit: expected a number/,
      /exec-orphan: no component uses this executor/,
      /backoffDuration: expected a Duration/,
      /parameterType: "NUMBER" is not a value of enum/,
    ];
    for (const pattern of expected) expect(errors.some((e) => pattern.test(e)), `${pattern} in\n${errors.join("\n")}`).toBe(true);
  });

  it("rejects a PlatformSpec executor with unknown fields or for an executor that does not exist", () => {
    const ir = toPipelineSpec(snap(sumOfSquares, { count: 3, offset: 1 }), options);
    const errors = validator!.validate({
      pipelineSpec: ir.pipelineSpec,
      platformSpec: { platforms: { kubernetes: { deploymentSpec: { executors: { "exec-square": { nodeSelectors: { a: "b" } }, "exec-ghost": {} } } } } },
    });
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/exec-square\.nodeSelectors: unknown field of kfp_kubernetes\.KubernetesExecutorConfig/), expect.stringMatching(/executor exec-ghost is not in pipelineSpec/)]));
  });
});

describe("toPipelineSpec", () => {
  it("writes one component and container executor per step running orch-entrypoint step, edges as dependentTasks", () => {
    const { pipelineSpec: spec, platformSpec } = toPipelineSpec(snap(sumOfSquares, { count: 3, offset: 1 }), options);
    expect(platformSpec).toBeUndefined();
    expect(spec.schemaVersion).toBe("2.1.0");
    expect(spec.pipelineInfo).toEqual({ name: "sum-of-squares", displayName: "sum_of_squares" });
    expect(Object.keys(spec.root.dag.tasks)).toEqual(["make-numbers", "square", "total"]);
    expect(spec.root.dag.tasks.square!.dependentTasks).toEqual(["make-numbers"]);
    expect(spec.root.dag.tasks.total!.dependentTasks).toEqual(["square"]);
    expect(spec.root.dag.tasks.total!.taskInfo.name).toBe("total");
    expect(spec.root.dag.tasks.square!.cachingOptions).toEqual({});
    const container = spec.deploymentSpec.executors["exec-square"]!.container;
    expect(container.image).toBe("registry.example.com/project:1");
    expect([...container.command!, ...container.args!]).toEqual(["orch-entrypoint", "step", "--run-id", "{{$.inputs.parameters['orch_run_id']}}", "--step", "square", "--project-root", "/app"]);
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
    expect(JSON.parse(env.ORCH_ARTIFACT_STORE!)).toEqual(store.describe());
    expect(env.ORCH_STEP_ID).toBe("square");
    expect(container.resources).toEqual({ cpuLimit: 0.5, cpuRequest: 0.5, resourceCpuLimit: "500m", resourceCpuRequest: "500m", memoryLimit: 0.268435456, memoryRequest: 0.268435456, resourceMemoryLimit: "256Mi", resourceMemoryRequest: "256Mi" });
    expect(spec.root.inputDefinitions!.parameters).toEqual({
      count: { parameterType: "NUMBER_INTEGER", defaultValue: 3, isOptional: true },
      offset: { parameterType: "NUMBER_INTEGER", defaultValue: 1, isOptional: true },
      orch_run_id: { parameterType: "STRING", description: "orch run id (set by orch at submit)." },
    });
    if (validator) validator.assertValid(toKfpYaml({ pipelineSpec: spec }));
  });

  it("is deterministic: the same snapshot gives the same bytes", () => {
    const a = toKfpYaml(toPipelineSpec(snap(settingsMatrix), options));
    const b = toKfpYaml(toPipelineSpec(snap(settingsMatrix), options));
    expect(a).toBe(b);
    expect(a.startsWith("# PIPELINE DEFINITION\n# Name: settings-matrix\n")).toBe(true);
  });

  it("compiles the settings matrix (resources, GPUs, retries, timeouts, env, node selectors, secrets, volumes) to IR that validates", () => {
    const ir = toPipelineSpec(snap(settingsMatrix), options);
    const yaml = toKfpYaml(ir);
    if (validator) validator.assertValid(yaml);
    const [spec, platform] = parseAllDocuments(yaml).map((d) => d.toJS()) as [any, any];
    const gpu = spec.deploymentSpec.executors["exec-gpu-train"].container;
    expect(gpu.resources).toMatchObject({ resourceCpuLimit: "4", resourceMemoryLimit: "16Gi", memoryLimit: 17.179869184, accelerator: { resourceType: "nvidia.com/gpu", resourceCount: "2", type: "nvidia.com/gpu", count: "2" } });
    expect(gpu.env).toEqual(expect.arrayContaining([{ name: "MODE", value: "train" }, { name: "LABEL", value: "héllo ✓" }]));
    expect(spec.root.dag.tasks["gpu-train"].retryPolicy).toEqual({ maxRetryCount: 3, backoffDuration: "5s", backoffFactor: 2, backoffMaxDuration: "2915s" });
    expect(spec.deploymentSpec.executors["exec-small"].container.resources).toMatchObject({ resourceCpuLimit: "250m", resourceMemoryLimit: "1500M", memoryLimit: 1.5 });
    expect(spec.deploymentSpec.executors["exec-amd"].container.resources.accelerator.resourceType).toBe("amd.com/gpu");
    const k8s = platform.platforms.kubernetes.deploymentSpec.executors;
    expect(k8s["exec-gpu-train"]).toMatchObject({
      nodeSelector: { labels: { "cloud.google.com/gke-accelerator": "nvidia-tesla-t4" } },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      secretAsEnv: [{ secretName: "wandb", keyToEnv: [{ secretKey: "api-key", envVar: "WANDB_API_KEY" }] }],
      pvcMount: [{ constant: "datasets", mountPath: "/data", subPath: "iris" }],
      imagePullSecret: [{ secretName: "regcred" }],
      imagePullPolicy: "IfNotPresent",
      podMetadata: { labels: { team: "ml" }, annotations: { "example.com/owner": "ml" } },
      // one attempt's timeout (600 s) plus the pod's start-up grace
      activeDeadlineSeconds: "720",
    });
    // the pipeline-level timeout reaches every step
    expect(k8s["exec-small"].activeDeadlineSeconds).toBe("150");
  });

  it("compiles a 200-step pipeline to IR that validates", () => {
    const ir = toPipelineSpec(snap(chain, { length: 200 }), options);
    expect(Object.keys(ir.pipelineSpec.root.dag.tasks)).toHaveLength(200);
    expect(ir.pipelineSpec.root.dag.tasks["link-200"]!.dependentTasks).toEqual(["link-199"]);
    if (validator) validator.assertValid(toKfpYaml(ir));
  });

  it("refuses a dynamic pipeline with a clear error", () => {
    const snapshot = { ...snap(sumOfSquares, { count: 1, offset: 0 }), pipeline: { ...snap(sumOfSquares, { count: 1, offset: 0 }).pipeline, dynamic: true } };
    expect(dynamicPipeline.dynamic).toBe(true);
    const error = catchError(() => toPipelineSpec(snapshot, options));
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toContain('"sum_of_squares" is dynamic');
  });

  it("keeps store credentials out of the IR when they come from a Secret", () => {
    const withCreds = { describe: () => ({ flavor: "s3", config: { bucket: "b" } }), env: () => ({ AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "shh" }) };
    // Without a Secret they are inline — and the compiler says so, naming the variables, never their values.
    const warnings: string[] = [];
    const inline = toKfpYaml(toPipelineSpec(snap(sumOfSquares, { count: 1, offset: 0 }), { ...options, store: withCreds, warn: (m) => warnings.push(m) }));
    expect(inline).toContain("shh");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) are written into the pipeline spec");
    expect(warnings[0]).not.toContain("shh");
    const ir = toPipelineSpec(snap(sumOfSquares, { count: 1, offset: 0 }), { ...options, store: withCreds, storeCredentialsSecret: "orch-store", warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    const yaml = toKfpYaml(ir);
    expect(yaml).not.toContain("shh");
    expect((ir.platformSpec as any).platforms.kubernetes.deploymentSpec.executors["exec-square"].secretAsEnv[0].keyToEnv).toEqual([
      { secretKey: "AWS_ACCESS_KEY_ID", envVar: "AWS_ACCESS_KEY_ID" },
      { secretKey: "AWS_SECRET_ACCESS_KEY", envVar: "AWS_SECRET_ACCESS_KEY" },
    ]);
    if (validator) validator.assertValid(yaml);
  });

  it("refuses Kubernetes pod settings when the flavor writes no PlatformSpec, naming the step", () => {
    const error = catchError(() => toPipelineSpec(snap(settingsMatrix), { ...options, kubernetesPlatform: false }));
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toMatch(/Step "gpu_train" sets Kubernetes pod settings \(nodeSelector, tolerations/);
  });

  it("refuses a retry maxDelay KFP cannot express, and warns with strict: false", () => {
    const s = snap(sumOfSquares, { count: 1, offset: 0 });
    s.steps.square!.settings.retry = { maxRetries: 3, delay: 10, backoff: 3, maxDelay: 20 };
    const error = catchError(() => toPipelineSpec(s, options));
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toContain('Step "square": retry.maxDelay 20s caps retry 2');
    const warnings: string[] = [];
    toPipelineSpec(s, { ...options, strict: false, warn: (m) => warnings.push(m) });
    expect(warnings.join()).toContain("uncapped");
    // a maxDelay that never bites is honoured as is
    s.steps.square!.settings.retry = { maxRetries: 2, delay: 1, backoff: 2, maxDelay: 60 };
    expect(toPipelineSpec(s, options).pipelineSpec.root.dag.tasks.square!.retryPolicy).toEqual({ maxRetryCount: 2, backoffDuration: "1s", backoffFactor: 2, backoffMaxDuration: "3600s" });
  });

  it("names tasks uniquely when step ids differ only by case or separator, and refuses bad settings by key", () => {
    const s = snap(sumOfSquares, { count: 1, offset: 0 });
    const copy = (id: string) => ({ ...s.steps.square!, id, upstream: [] });
    s.steps["Square"] = copy("Square");
    s.steps["square-"] = copy("square-");
    s.order = [...s.order, "Square", "square-"];
    const spec = toPipelineSpec(s, options).pipelineSpec;
    expect(Object.keys(spec.root.dag.tasks)).toEqual(["make-numbers", "square", "square-2", "square-3", "total"]);
    expect(spec.root.dag.tasks["square-2"]!.taskInfo.name).toBe("Square");
    if (validator) validator.assertValid({ pipelineSpec: spec });
    s.steps.square!.settings.flavors.kubeflow = { nodeSelectr: { a: "b" } };
    const error = catchError(() => toPipelineSpec(s, options));
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message).toContain('step "square"');
  });

  it("refuses pipeline parameters KFP cannot name", () => {
    const s = snap(sumOfSquares, { count: 1, offset: 0 });
    for (const name of ["orch_run_id", "n-trees", "", "ünï"]) {
      const error = catchError(() => toPipelineSpec({ ...s, parameters: { [name]: 1 } }, options));
      expect(error.code, name).toBe("E_SETTINGS_INVALID");
    }
    const types = toPipelineSpec({ ...s, parameters: { f: 0.5, s: "x", b: true, l: [1], o: { a: 1 }, n: null } }, options).pipelineSpec.root.inputDefinitions!.parameters!;
    expect(Object.fromEntries(Object.entries(types).map(([k, v]) => [k, v.parameterType]))).toMatchObject({ f: "NUMBER_DOUBLE", s: "STRING", b: "BOOLEAN", l: "LIST", o: "STRUCT", n: "STRING" });
    expect(types.n).not.toHaveProperty("defaultValue");
  });

  it("compiles a backend-started (scheduled) pipeline: the run id is KFP's run uuid, a setup task first, a finalize task after all steps however they end", () => {
    const ir = toPipelineSpec(snap(sumOfSquares, { count: 2, offset: 0 }), { ...options, scheduled: { setupCommand: ["orch-kubeflow-run", "setup", "--snapshot", "schedules/s/snapshot.json"], finalizeCommand: ["orch-kubeflow-run", "finalize"] } });
    const tasks = ir.pipelineSpec.root.dag.tasks as Record<string, any>;
    expect(Object.keys(tasks).sort()).toEqual(["make-numbers", "orch-finalize", "orch-setup", "square", "total"]);
    expect(tasks["make-numbers"].dependentTasks).toEqual(["orch-setup"]);
    expect(tasks.square.inputs.parameters.orch_run_id).toEqual({ runtimeValue: { constant: "{{$.pipeline_job_uuid}}" } });
    expect(tasks["orch-finalize"]).toMatchObject({ dependentTasks: ["make-numbers", "square", "total"], triggerPolicy: { strategy: "ALL_UPSTREAM_TASKS_COMPLETED" } });
    expect(Object.keys(ir.pipelineSpec.root.inputDefinitions!.parameters!)).toEqual(["count", "offset"]);
    const setup = ir.pipelineSpec.deploymentSpec.executors["exec-orch-setup"]!.container;
    expect([...setup.command!, ...setup.args!]).toEqual(["orch-kubeflow-run", "setup", "--snapshot", "schedules/s/snapshot.json", "--run-id", "{{$.inputs.parameters['orch_run_id']}}"]);
    expect(setup.env!.map((e) => e.name)).toEqual(["ORCH_ARTIFACT_STORE"]);
    if (validator) validator.assertValid(toKfpYaml(ir));
  });

  it("writes YAML the KFP SDK's reader parses back to the same spec", () => {
    const ir = toPipelineSpec(snap(sumOfSquares, { count: 2, offset: 0 }), options);
    expect(parse(toKfpYaml(ir))).toEqual(JSON.parse(JSON.stringify(ir.pipelineSpec)));
  });
});

function catchError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isOrchError(error)) return error as unknown as { code: string; message: string };
    throw error;
  }
  throw new Error("expected an error");
}
