/**
 * Snapshot → JobSettings: validated against the Jobs API schema the tests hold (test/jobs-api-schema.ts),
 * and the mapping a user relies on: tasks and depends_on from the DAG, a job cluster per profile, node
 * types from resources, retries, timeouts, secrets only as references, schedules in Quartz.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { pipeline, step } from "@orch/core";
import { compilePipeline } from "@orch/core/host";
import { isOrchError, parseComponentConfig } from "@orch/core/plugin";
import plugin from "./index.js";
import { compileJobSettings, quartzSchedule } from "./job-settings.js";
import { JOB_SETTINGS_SCHEMA } from "../test/jobs-api-schema.js";

const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JOB_SETTINGS_SCHEMA);
const problems = (settings: unknown) => (validate(settings) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

const config = (extra: Record<string, unknown> = {}) => parseComponentConfig(plugin, { host: "https://dbc.example.com", token: "t", image: "registry.example.com/iris:1", ...extra });
const store = { flavor: "s3", config: { path: "s3://bucket/orch" } };

const load = step({ name: "load" }, () => [1, 2, 3]);
const train = step({ name: "train", resources: { cpuCount: 6, memory: "24GiB" }, retry: { maxRetries: 2, delay: 30 }, timeout: 600 }, (xs: number[]) => xs.length);
const tune = step({ name: "tune", resources: { gpuCount: 1 } }, (xs: number[]) => xs.length);
const report = step({ name: "report" }, (a: number, b: number) => a + b);
const demo = pipeline({ name: "demo" }, () => {
  const data = load();
  report(train(data), tune(data));
});
const snapshotOf = (p = demo) => compilePipeline(p, {}, { projectRoot: "/tmp" }).snapshot;
const compile = (extra: Record<string, unknown> = {}, snapshot = snapshotOf()) =>
  compileJobSettings({ config: config(extra), snapshot, image: "registry.example.com/iris:1", store, storeSecretEnv: { AWS_ACCESS_KEY_ID: "AKIA-LITERAL", AWS_SECRET_ACCESS_KEY: "very-secret-value" } });

describe("snapshot → Jobs API 2.2 JobSettings", () => {
  it("validates against the Jobs API schema, with a task per step and depends_on from the DAG", () => {
    const settings = compile({ runAs: { servicePrincipalName: "sp-1" }, emailNotifications: { onFailure: ["ml@example.com"] }, tags: { team: "ml" } });
    expect(problems(settings)).toEqual([]);
    expect(settings.name).toBe("orch-demo");
    const deps = Object.fromEntries(settings.tasks.map((t) => [t.task_key, (t.depends_on ?? []).map((d) => d.task_key)]));
    expect(deps).toEqual({ "orch.start": [], load: ["orch.start"], train: ["load"], tune: ["load"], report: ["train", "tune"], "orch.finish": ["load", "train", "tune", "report"] });
    expect(settings.tasks.at(-1)!.run_if).toBe("ALL_DONE");
    expect(settings.run_as).toEqual({ service_principal_name: "sp-1" });
    expect(settings.tags).toMatchObject({ team: "ml", "app.kubernetes.io_managed-by": "orch", "orch.dev_pipeline": "demo" });
    // Job tags become cluster tags: no "/" (Azure refuses it in tag keys).
    for (const key of Object.keys(settings.tags)) expect(key).toMatch(/^[\w.-]+$/);
  });

  it("runs orch-entrypoint step through the launcher, the run id from the job parameter", () => {
    const train = compile().tasks.find((t) => t.task_key === "train")!;
    expect(train.spark_python_task).toEqual({
      python_file: "/Shared/orch/orch_launcher.py",
      source: "WORKSPACE",
      parameters: ["{{job.parameters.orch_run_id}}", "{{job.run_id}}", "--env", "ORCH_RUN_ID=@ORCH_RUN_ID@", "--env", "ORCH_STEP_ID=train", "--", "orch-entrypoint", "step", "--run-id", "@ORCH_RUN_ID@", "--step", "train", "--project-root", "/app"],
    });
    // Native retries with the policy's first delay; a timeout is the whole budget of the step's attempts plus cluster start-up.
    expect(train).toMatchObject({ max_retries: 2, min_retry_interval_millis: 30_000, retry_on_timeout: false });
    expect(train.timeout_seconds).toBe(600 * 3 + 30 + 30 + 900);
  });

  it("gives each resource profile its own job cluster: smallest fitting node type, GPU runtime for GPU nodes, single node", () => {
    const settings = compile();
    const clusterOf = (key: string) => settings.job_clusters.find((c) => c.job_cluster_key === settings.tasks.find((t) => t.task_key === key)!.job_cluster_key)!.new_cluster;
    expect(clusterOf("load").node_type_id).toBe("m5d.large");
    expect(clusterOf("report")).toBe(clusterOf("load"));
    expect(clusterOf("train")).toMatchObject({ node_type_id: "m5d.2xlarge", spark_version: "15.4.x-scala2.12", num_workers: 0 });
    expect(clusterOf("tune")).toMatchObject({ node_type_id: "g4dn.xlarge", spark_version: "15.4.x-gpu-ml-scala2.12" });
    expect(clusterOf("load")).toMatchObject({ spark_conf: { "spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*, 4]" }, custom_tags: { ResourceClass: "SingleNode" } });
    expect(settings.job_clusters).toHaveLength(3);
  });

  it("puts the store's credentials in the clusters only as secret references, and the registry password only as one", () => {
    const settings = compile({ imageBasicAuth: { username: "bot", password: "{{secrets/registry/password}}" } });
    const text = JSON.stringify(settings);
    expect(text).not.toContain("very-secret-value");
    expect(text).not.toContain("AKIA-LITERAL");
    const cluster = settings.job_clusters[0]!.new_cluster;
    expect(cluster.spark_env_vars!.AWS_SECRET_ACCESS_KEY).toMatch(/^\{\{secrets\/orch\/store-[0-9a-f]{10}-AWS_SECRET_ACCESS_KEY\}\}$/);
    expect(JSON.parse(cluster.spark_env_vars!.ORCH_ARTIFACT_STORE!)).toEqual(store);
    expect(cluster.docker_image).toEqual({ url: "registry.example.com/iris:1", basic_auth: { username: "bot", password: "{{secrets/registry/password}}" } });
    expect(problems(settings)).toEqual([]);
    expect(() => config({ imageBasicAuth: { username: "bot", password: "hunter2" } })).toThrow(/image_basic_auth\.password|imageBasicAuth\.password/);
  });

  it("is deterministic: the same snapshot gives the same settings and settings hash", () => {
    expect(JSON.stringify(compile())).toBe(JSON.stringify(compile()));
    expect(compile().tags["orch.dev_settings-hash"]).not.toBe(compile({ maxConcurrentRuns: 3 }).tags["orch.dev_settings-hash"]);
  });

  it("refuses resources no node type provides, naming the step, the largest types and the setting that overrides", () => {
    const huge = step({ name: "huge", resources: { cpuCount: 512 } }, () => 1);
    const p = pipeline({ name: "too_big" }, () => void huge());
    try {
      compile({}, snapshotOf(p));
      expect.unreachable();
    } catch (error) {
      expect(isOrchError(error) && error.code).toBe("E_SETTINGS_INVALID");
      expect((error as Error).message).toContain('Step "huge"');
      expect((error as Error).message).toContain("m5d.16xlarge");
      expect((error as { hint?: string }).hint).toContain("settings.databricks.nodeTypeId");
    }
  });

  it("takes a step's settings.databricks (node type, workers) and refuses a misspelt one, naming the step", () => {
    const wide = step({ name: "wide", settings: { databricks: { nodeTypeId: "i3.xlarge", numWorkers: 2 } } }, () => 1);
    const settings = compile({}, snapshotOf(pipeline({ name: "wide" }, () => void wide())));
    expect(settings.job_clusters.find((c) => c.new_cluster.node_type_id === "i3.xlarge")!.new_cluster).toMatchObject({ num_workers: 2 });
    expect(settings.job_clusters.find((c) => c.new_cluster.node_type_id === "i3.xlarge")!.new_cluster.spark_conf).toBeUndefined();
    const typo = step({ name: "typo", settings: { databricks: { nodeType: "i3.xlarge" } } }, () => 1);
    expect(() => compile({}, snapshotOf(pipeline({ name: "typo" }, () => void typo())))).toThrow(/Step "typo": settings\.databricks/);
  });
});

describe("schedules as Quartz", () => {
  const cfg = config();
  const base = { catchup: false, allowOverlap: false };
  it("converts cron to Quartz with ?, Sunday=1, and a Java timezone id", () => {
    expect(quartzSchedule({ ...base, cron: "30 2 * * 0" }, cfg)).toEqual({ quartz_cron_expression: "0 30 2 ? * 1", timezone_id: "UTC", pause_status: "UNPAUSED" });
    expect(quartzSchedule({ ...base, cron: "0 6 1 * *", timezone: "Europe/Berlin" }, cfg)).toEqual({ quartz_cron_expression: "0 0 6 1 * ?", timezone_id: "Europe/Berlin", pause_status: "UNPAUSED" });
    expect(quartzSchedule({ ...base, intervalSeconds: 900 }, cfg).quartz_cron_expression).toBe("0 */15 * * * ?");
    const settings = compileJobSettings({ config: cfg, snapshot: snapshotOf(), image: "i", store, storeSecretEnv: {}, schedule: { ...base, cron: "0 2 * * 1-5" } });
    expect(problems(settings)).toEqual([]);
    expect(settings.name).toBe("orch-demo-scheduled");
  });

  it("refuses what Quartz or Databricks cannot say", () => {
    expect(() => quartzSchedule({ ...base, cron: "0 2 1 * 1" }, cfg)).toThrow(expect.objectContaining({ code: "E_CRON_UNSUPPORTED" }));
    expect(() => quartzSchedule({ ...base, runOnceAt: "2030-01-01T00:00:00.000Z" }, cfg)).toThrow(/one-off run/);
    expect(() => quartzSchedule({ ...base, intervalSeconds: 7 * 60 }, cfg)).toThrow(expect.objectContaining({ code: "E_CRON_UNSUPPORTED" }));
    expect(() => quartzSchedule({ ...base, cron: "0 2 * * *", endTime: "2030-01-01T00:00:00.000Z" }, cfg)).toThrow(/startTime or endTime/);
  });
});
