/**
 * The DAG file itself: every generated file parses (ast / py_compile) and imports under the Airflow
 * stand-ins of the targeted version (operators that refuse unknown keyword arguments, as the real ones
 * do); the mapping of resources, retries, timeouts, settings, schedules and credentials; determinism;
 * and the refusals of what Airflow cannot honour.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { isOrchError, parseComponentConfig, type Snapshot } from "@orch/core/plugin";
import plugin from "./index.js";
import { renderDagFile, type DagStore } from "./dag-file.js";
import { checkDag, pythonMissing, type DumpedDag } from "../test/python.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";
import { dynamicPipeline, mapped, nightly } from "../test/fixtures/project/src/pipeline.js";
import { pipeline, step } from "@orch/core";

const quickstartRoot = new URL("../../../examples/quickstart/", import.meta.url).pathname.replace(/\/$/, "");
const fixtureRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
const SECRET = "wJalrXUtnFEMI-very-secret";
// The workers' .env file with the store's credentials (DockerOperator reads it through the template search path).
const envDir = mkdtempSync(join(tmpdir(), "orch-airflow-env-"));
const envFile = join(envDir, "store.env");
writeFileSync(envFile, `AWS_ACCESS_KEY_ID=AKIA-test\nAWS_SECRET_ACCESS_KEY=${SECRET}\n`);
afterAll(() => rmSync(envDir, { recursive: true, force: true }));
const s3Store: DagStore = { describe: () => ({ flavor: "s3", config: { path: "s3://bucket/orch", endpoint: "http://127.0.0.1:9000", forcePathStyle: true } }), envNames: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] };
const config = (extra: Record<string, unknown> = {}) =>
  parseComponentConfig(plugin, { host: "http://127.0.0.1:8080", dagsFolder: "/tmp/dags", image: "registry.example/iris:1", credentialsSecret: "orch-store", credentialsEnvFile: envFile, ...extra }) as any;
const compiled = (p: any, params: Record<string, unknown> = {}, root = fixtureRoot): Snapshot => compilePipeline(p, params, { projectRoot: root }).snapshot;
const task = (dag: DumpedDag, id: string) => dag.tasks.find((t) => t.task_id === id)!;

function refusal(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (error) {
    if (isOrchError(error)) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
    throw error;
  }
  throw new Error("expected an OrchError");
}

describe.skipIf(pythonMissing)("the generated DAG file", () => {
  for (const version of [2, 3] as const) {
    for (const operator of ["kubernetes", "docker"] as const) {
      it(`of the quickstart imports under Airflow ${version} with ${operator} operators: one task per step, the DAG's edges`, () => {
        const snapshot = compiled(irisTraining, {}, quickstartRoot);
        const file = renderDagFile(config({ airflowVersion: version, operator }), snapshot, s3Store);
        const dag = checkDag(file.source, version, { runId: "run-1" });
        expect(dag.module).toBe(version === 3 ? "airflow.sdk" : "airflow.models.dag");
        expect(dag.tasks.map((t) => t.task_id)).toEqual(snapshot.order);
        for (const id of snapshot.order) expect(task(dag, id).upstream.sort()).toEqual([...snapshot.steps[id]!.upstream].sort());
        expect(dag.kwargs[version === 3 ? "fail_fast" : "fail_stop"]).toBe(true);
        expect(dag.kwargs.schedule).toBeNull();
        expect(file.source).not.toContain(SECRET);
        // Rendered for a DAG run: the step command with the run id, the try number as ORCH_ATTEMPT.
        const load = task(dag, "load_data").rendered!;
        const argv = operator === "kubernetes" ? [...load.cmds, ...load.arguments] : [...(task(dag, "load_data").kwargs.entrypoint as string[]), ...load.command];
        expect(argv).toEqual(["orch-entrypoint", "step", "--run-id", "run-1", "--step", "load_data", "--project-root", "/app"]);
        const env = operator === "kubernetes" ? load.env_vars : load.environment;
        expect(env).toMatchObject({ ORCH_RUN_ID: "run-1", ORCH_STEP_ID: "load_data", ORCH_ATTEMPT: "1" });
        expect(JSON.parse(env.ORCH_ARTIFACT_STORE)).toEqual(s3Store.describe());
        // The credentials come from the Secret / the workers' env file, at run time only.
        if (operator === "kubernetes") expect(task(dag, "load_data").kwargs.env_from[0].secret_ref.name).toBe("orch-store");
        else expect(load.env_file).toContain(`AWS_SECRET_ACCESS_KEY=${SECRET}`);
      });
    }
  }

  it("maps resources, retries, timeout and settings.airflow onto KubernetesPodOperator arguments", () => {
    const dag = checkDag(renderDagFile(config(), compiled(mapped, { n: 3 }), s3Store).source, 3, { runId: "r" });
    const train = task(dag, "train").kwargs;
    expect(train.container_resources).toEqual({ k8s: "V1ResourceRequirements", requests: { cpu: "500m", memory: "256Mi" }, limits: { cpu: "500m", memory: "256Mi", "nvidia.com/gpu": "1" } });
    expect(train.retries).toBe(2);
    expect(train.retry_delay).toEqual({ timedelta: 5 });
    expect(train.retry_exponential_backoff).toBe(true);
    expect(train.max_retry_delay).toEqual({ timedelta: 60 });
    // One attempt per try: its timeout plus the start-up grace.
    expect(train.execution_timeout).toEqual({ timedelta: 150 });
    expect(train.node_selector).toEqual({ pool: "gpu" });
    expect(train.tolerations).toEqual([{ k8s: "V1Toleration", key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect([train.pool, train.queue, train.priority_weight, train.owner, train.namespace]).toEqual(["gpu_pool", "gpu", 5, "orch", "default"]);
    expect(train.env_from).toEqual([{ k8s: "V1EnvFromSource", secret_ref: { k8s: "V1SecretEnvSource", name: "orch-store" } }]);
    // Values Airflow would take for template files (".json") or templates stay literal.
    expect(task(dag, "train").rendered!.env_vars).toMatchObject({ MODEL_KIND: "forest", CONFIG_PATH: "/etc/model/config.json", TEMPLATE_LOOKING: "{{ not a template }}" });
    // Steps without a policy get Airflow's defaults.
    expect(task(dag, "prepare").kwargs.retries).toBeUndefined();
    // "class" and "dag" are Python names; the tasks keep their ids.
    expect(dag.tasks.map((t) => t.task_id)).toEqual(["prepare", "train", "class", "dag"]);
    expect(task(dag, "dag").upstream.sort()).toEqual(["class", "train"]);
  });

  it("maps resources onto DockerOperator arguments: mem_limit in bytes, cpus, GPU device_requests, network, the local store bind-mounted", () => {
    const local: DagStore = { describe: () => ({ flavor: "local", config: { path: "/srv/orch/artifacts" } }), envNames: [] };
    const snapshot = compiled(mapped, { n: 3 });
    const noNode = { ...snapshot, steps: { ...snapshot.steps, train: { ...snapshot.steps.train!, settings: { ...snapshot.steps.train!.settings, flavors: {} } } } };
    const dag = checkDag(renderDagFile(config({ operator: "docker", networkMode: "none", airflowVersion: 2 }), noNode, local).source, 2, { runId: "r" });
    const train = task(dag, "train").kwargs;
    expect(train.mem_limit).toBe(268435456);
    expect(train.cpus).toBe(0.5);
    expect(train.device_requests).toEqual([{ Driver: "", Count: 1, DeviceIDs: [], Capabilities: [["gpu"]], Options: {} }]);
    expect(train.network_mode).toBe("none");
    expect(train.mounts).toEqual([{ Target: "/srv/orch/artifacts", Source: "/srv/orch/artifacts", Type: "bind", ReadOnly: false }]);
    expect(train.working_dir).toBe("/app");
    expect(train.env_file).toBe("store.env");
    expect(dag.kwargs.template_searchpath).toEqual([envDir]);
  });

  it("turns the pipeline's schedule into the DAG's: cron, start/end in the schedule's timezone, catchup, one active run", () => {
    const dag = checkDag(renderDagFile(config(), compiled(nightly), s3Store, { scheduled: true }).source, 3);
    expect(dag.dag_id).toBe("nightly_scheduled");
    expect(dag.kwargs.schedule).toBe("30 2 * * 1-5");
    expect(dag.kwargs.start_date).toEqual({ datetime: "2026-01-01T01:00:00+01:00" });
    expect(dag.kwargs.end_date).toEqual({ datetime: "2027-01-01T01:00:00+01:00" });
    expect(dag.kwargs.catchup).toBe(true);
    expect(dag.kwargs.max_active_runs).toBe(1);
    // orch schedule list finds scheduled DAGs by the "orch" tag, whatever tags the config names.
    expect(checkDag(renderDagFile(config({ tags: ["ml"] }), compiled(nightly), s3Store, { scheduled: true }).source, 3).kwargs.tags).toEqual(["orch", "ml", "nightly"]);
    const base = compiled(nightly);
    const withSchedule = (schedule: object) => ({ ...base, pipeline: { ...base.pipeline, schedule: { catchup: false, allowOverlap: true, ...schedule } } }) as Snapshot;
    const every = checkDag(renderDagFile(config({ airflowVersion: 2 }), withSchedule({ intervalSeconds: 5400 }), s3Store).source, 2);
    expect(every.kwargs.schedule).toEqual({ timedelta: 5400 });
    expect(every.kwargs.max_active_runs).toBeUndefined();
    const once = checkDag(renderDagFile(config(), withSchedule({ runOnceAt: "2026-12-24T18:00:00.000Z" }), s3Store).source, 3);
    expect([once.kwargs.schedule, once.kwargs.start_date]).toEqual(["@once", { datetime: "2026-12-24T18:00:00+00:00" }]);
  });

  it("would catch a wrong argument: the stand-ins refuse what the real classes refuse", () => {
    const source = renderDagFile(config(), compiled(mapped, { n: 3 }), s3Store).source;
    expect(() => checkDag(source.replace("retry_exponential_backoff=", "retry_exponential_backof="), 3)).toThrow(/unexpected keyword argument 'retry_exponential_backof'/);
    expect(() => checkDag(source.replace("container_resources=k8s.V1ResourceRequirements(", "container_resources=dict("), 3)).toThrow(/V1ResourceRequirements/);
    // A file for Airflow 2 does not import on Airflow 3 (no fail_stop there), nor the other way round.
    expect(() => checkDag(renderDagFile(config({ airflowVersion: 2 }), compiled(mapped, { n: 3 }), s3Store).source, 3)).toThrow(/cannot import name .DAG. from .airflow./);
    expect(() => checkDag(source, 2)).toThrow(/airflow.sdk/);
  });

  it("is deterministic, and a 200-step pipeline compiles and imports", () => {
    const snapshot = compiled(irisTraining, {}, quickstartRoot);
    expect(renderDagFile(config(), snapshot, s3Store).source).toBe(renderDagFile(config(), snapshot, s3Store).source);
    const link = step({ name: "link" }, (n: number) => n + 1);
    const long = pipeline({ name: "long_chain" }, () => {
      let value = link(0);
      for (let i = 1; i < 200; i++) value = link(value);
    });
    const big = compiled(long);
    const file = renderDagFile(config(), big, s3Store);
    const dag = checkDag(file.source, 3);
    expect(dag.tasks).toHaveLength(200);
    expect(task(dag, "link_200").upstream).toEqual(["link_199"]);
  });
});

describe("what Airflow cannot honour is refused, never dropped", () => {
  it("refuses a dynamic pipeline", () => {
    expect(refusal(() => renderDagFile(config(), compiled(dynamicPipeline, { n: 2 }), s3Store))).toMatchObject({ code: "E_CAPABILITY_UNSUPPORTED", message: expect.stringContaining("dynamic_fanout") });
  });

  it("refuses a retry backoff other than 1 or 2, naming the step", () => {
    const snapshot = compiled(mapped, { n: 3 });
    snapshot.steps.train!.settings.retry.backoff = 3;
    expect(refusal(() => renderDagFile(config(), snapshot, s3Store))).toMatchObject({ code: "E_SETTINGS_INVALID", message: expect.stringMatching(/Step "train": retry.backoff 3/) });
  });

  it("refuses node placement with the DockerOperator", () => {
    expect(refusal(() => renderDagFile(config({ operator: "docker" }), compiled(mapped, { n: 3 }), s3Store))).toMatchObject({ code: "E_SETTINGS_INVALID", message: expect.stringContaining('Step "train": settings.airflow.nodeSelector needs operator kubernetes') });
  });

  it("refuses a misspelt step setting, naming it", () => {
    const snapshot = compiled(mapped, { n: 3 });
    (snapshot.steps.prepare!.settings.flavors as any).airflow = { nodeSelectr: { a: "b" } };
    expect(refusal(() => renderDagFile(config(), snapshot, s3Store)).message).toMatch(/Step "prepare": settings.airflow is invalid: .*nodeSelectr/);
  });

  it("refuses catchup without a startTime", () => {
    const base = compiled(nightly);
    const snapshot = { ...base, pipeline: { ...base.pipeline, schedule: { cron: "0 * * * *", catchup: true, allowOverlap: false } } } as Snapshot;
    expect(refusal(() => renderDagFile(config(), snapshot, s3Store, { scheduled: true }))).toMatchObject({ code: "E_SCHEDULE_INVALID", hint: expect.stringContaining("startTime") });
  });

  it("never writes credentials: the store's keys need a Secret / env file, credential-like env is refused", () => {
    const snapshot = compiled(irisTraining, {}, quickstartRoot);
    const bare = (extra: Record<string, unknown>) => parseComponentConfig(plugin, { host: "http://127.0.0.1:8080", dagsFolder: "/tmp/dags", image: "i:1", ...extra }) as any;
    expect(refusal(() => renderDagFile(bare({}), snapshot, s3Store))).toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringContaining("AWS_SECRET_ACCESS_KEY"), hint: expect.stringContaining("credentialsSecret") });
    expect(refusal(() => renderDagFile(bare({ operator: "docker" }), snapshot, s3Store)).hint).toContain("credentialsEnvFile");
    const withEnv = compiled(mapped, { n: 1 });
    (withEnv.steps.prepare!.settings.flavors as any).airflow = { env: { DB_PASSWORD: SECRET } };
    expect(refusal(() => renderDagFile(config(), withEnv, s3Store))).toMatchObject({ code: "E_SETTINGS_INVALID", message: expect.stringContaining("DB_PASSWORD") });
    // A local store cannot reach cluster pods without a volume.
    const local: DagStore = { describe: () => ({ flavor: "local", config: { path: "/srv/orch" } }), envNames: [] };
    expect(refusal(() => renderDagFile(config(), snapshot, local))).toMatchObject({ code: "E_CONFIG_INVALID", hint: expect.stringContaining("artifactStoreVolume") });
  });

  it("refuses bad config with the key named", () => {
    const bad = (extra: Record<string, unknown>) => () => parseComponentConfig(plugin, { host: "http://127.0.0.1:8080", dagsFolder: "/tmp/dags", image: "i:1", ...extra });
    expect(bad({ airflowVersion: 1 })).toThrow(/airflowVersion must be 2/);
    expect(bad({ operator: "ecs" })).toThrow(/operator/);
    expect(bad({ dagsFolder: "ftp://host/dags" })).toThrow(/dagsFolder must be a local folder, s3/);
    expect(bad({ credentialsEnvFile: "store.env" })).toThrow(/credentialsEnvFile must be an absolute path/);
    expect(bad({ namespace: "Not_A_Label" })).toThrow(/namespace/);
    expect(bad({ hots: "x" })).toThrow(/hots/);
  });
});
