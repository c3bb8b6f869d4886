/**
 * The translation: a snapshot → one Python DAG file an Airflow user can read. One task per step
 * (KubernetesPodOperator or DockerOperator) running `orch-entrypoint step` in the stack's image,
 * dependencies with `>>`, the retry policy and timeout as the task's retries / retry_delay /
 * retry_exponential_backoff / max_retry_delay / execution_timeout, the schedule as the DAG's own.
 * Deterministic: the same snapshot and config give the same bytes. Never holds a credential: the
 * store's secrets reach the tasks from a Kubernetes Secret or an env file on the workers.
 */
import { basename, dirname } from "node:path";
import {
  ORCH_ENV,
  OrchError,
  redactSecrets,
  sha256,
  stepCommand,
  stepTimeBudget,
  toDockerBytes,
  toK8sQuantity,
  type ComponentSpec,
  type Schedule,
  type Snapshot,
  type SnapshotStep,
} from "@orch/core/plugin";
import { AIRFLOW_KEY, settingsSchema, type AirflowOrchestratorConfig, type AirflowStepSettings } from "./config.js";
import { py, pyCall, pyIdentifiers, pyString, pyValue, type PyValue } from "./python.js";

/** What the DAG needs to know about the artifact store: its `describe()` and whether it has credentials. */
export interface DagStore {
  describe(): ComponentSpec<never> | { flavor: string; config: Record<string, unknown>; package?: string };
  /** Names of the store's credential variables (`env()` keys); their values never enter the file. */
  envNames: readonly string[];
}

export interface DagFile {
  dagId: string;
  /** A digest of the file, in the DAG's description: tells that Airflow has parsed this version of it. */
  digest: string;
  /** `<dagId>.py`. */
  fileName: string;
  source: string;
}

/** Airflow renders these templates at run time: the DAG run's id (the orch run id) and the task's try. */
export const RUN_ID_TEMPLATE = "{{ run_id }}";
export const TRY_NUMBER_TEMPLATE = "{{ ti.try_number }}";
/** Files whose names end like this are read as template files by the operator (its template_ext). */
const TEMPLATE_EXT = { kubernetes: [".yaml", ".yml", ".json"], docker: [".sh", ".bash", ".env"] } as const;
const NAMES = new Set(["json", "DAG", "KubernetesPodOperator", "DockerOperator", "DeviceRequest", "Mount", "k8s", "pendulum", "timedelta", "dag", "IMAGE", "ORCH_ENV", "PIPELINE_HASH"]);
/** A start_date for DAGs whose schedule has no startTime: fixed, so the file stays deterministic (catchup is off). */
const DEFAULT_START = "2024-01-01T00:00:00.000Z";

/** The DAG of a schedule is its own DAG (`<dag id>_scheduled`), so runs triggered meanwhile never replace its schedule. */
export const SCHEDULED_SUFFIX = "_scheduled";
const DIGEST_PLACEHOLDER = "@@ORCH_DAG_DIGEST@@";

/** The DAG id of a pipeline: the config's prefix + the pipeline name. */
export function dagIdOf(config: Pick<AirflowOrchestratorConfig, "dagIdPrefix">, snapshot: Pick<Snapshot, "pipeline">): string {
  return `${config.dagIdPrefix}${snapshot.pipeline.name}`;
}

/** The snapshot as one DAG file. Throws OrchError for what Airflow cannot honour, naming the step and setting. */
export function renderDagFile(config: AirflowOrchestratorConfig, snapshot: Snapshot, store: DagStore, options: { scheduled?: boolean } = {}): DagFile {
  if (snapshot.pipeline.dynamic) {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      message: `Pipeline "${snapshot.pipeline.name}" is dynamic: airflow runs a DAG file fixed before the run starts, so it cannot run steps decided at run time.`,
      hint: "Run dynamic pipelines on a flavor that supports them (local, local_docker, kubernetes), or make the pipeline static.",
    });
  }
  const dagId = `${dagIdOf(config, snapshot)}${options.scheduled ? SCHEDULED_SUFFIX : ""}`;
  if (!AIRFLOW_KEY.test(dagId)) {
    throw new OrchError("E_CONFIG_INVALID", { message: `DAG id "${dagId}" is not a valid Airflow dag_id.`, hint: "Use letters, digits, '_', '.' and '-' in dagIdPrefix." });
  }
  const operator = config.operator;
  const storeSpec = taskStore(config, store);
  const credentials = credentialSource(config, store);
  const names = pyIdentifiers(snapshot.order, NAMES);

  const tasks = snapshot.order.map((id) => renderTask(config, snapshot.steps[id]!, names.get(id)!, storeSpec, credentials, options.scheduled ? dagId : undefined));
  const edges = renderEdges(snapshot, names);
  const imports = [
    "import json",
    "from datetime import timedelta",
    "",
    "import pendulum",
    config.airflowVersion === 3 ? "from airflow.sdk import DAG" : "from airflow import DAG",
    operator === "kubernetes" ? "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator" : "from airflow.providers.docker.operators.docker import DockerOperator",
    ...(operator === "docker" ? ["from docker.types import DeviceRequest, Mount"] : ["from kubernetes.client import models as k8s"]),
  ];
  const store0 = storeSpec.describe;
  const header = [
    `"""orch pipeline ${pyString(snapshot.pipeline.name).slice(1, -1)} as an Airflow DAG (Airflow ${config.airflowVersion}, ${operator === "kubernetes" ? "KubernetesPodOperator" : "DockerOperator"}).`,
    "",
    "Generated by @orch/plugin-airflow from the pipeline's snapshot; generate it again rather than edit it",
    "(orch pipeline compile, or a run on the airflow stack). Each task runs one step with",
    "`orch-entrypoint step`: it reads the run's snapshot (runs/<run id>/snapshot.json) and its inputs from",
    `the artifact store (${store0.flavor}) and writes its outputs, record and log there. Trigger it with`,
    options.scheduled
      ? "orch's schedule: Airflow's scheduler starts its DAG runs; each task stores the schedule's snapshot under the run first."
      : "`orch run` / `pipeline.run()`, which stores the snapshot under the DAG run's id first.",
    '"""',
  ];
  const dagKwargs = dagArguments(config, snapshot, dagId);
  if (credentials?.kind === "envFile") dagKwargs.template_searchpath = [dirname(credentials.name)];
  const lines = [
    ...header,
    ...imports,
    "",
    `PIPELINE_HASH = ${pyString(snapshot.pipeline.hash)}`,
    `IMAGE = ${pyString(config.image)}`,
    `# Where each step finds the run's snapshot and writes its outputs. ${credentials ? `Credentials: ${credentials.kind === "secret" ? `Secret ${credentials.name}` : credentials.name}, never this file.` : "No credentials."}`,
    `ORCH_ENV = ${pyValue({ [ORCH_ENV.artifactStore]: storeValue(store0, operator), ...(options.scheduled ? {} : { [ORCH_ENV.runId]: RUN_ID_TEMPLATE }), [ORCH_ENV.attempt]: TRY_NUMBER_TEMPLATE }, 0)}`,
    "",
    `with ${pyCall("DAG", dagKwargs)} as dag:`,
    ...tasks.flatMap((task, i) => (i === 0 ? task : ["", ...task])).map((line) => (line ? `    ${line}` : "")),
    ...(edges.length ? ["", ...edges.map((line) => `    ${line}`)] : []),
    "",
  ];
  const draft = lines.join("\n");
  const digest = sha256(draft).slice(0, 16);
  return { dagId, digest, fileName: `${dagId}.py`, source: draft.replace(DIGEST_PLACEHOLDER, digest) };
}

interface TaskStore {
  describe: { flavor: string; config: Record<string, unknown>; package?: string };
  /** A local store's folder on the host (docker: bind-mounted at the same path). */
  hostPath?: string;
}

/** The store as the task sees it: a local store's path is the volume's mount path (kubernetes) or bind-mounted (docker). */
function taskStore(config: AirflowOrchestratorConfig, store: DagStore): TaskStore {
  const spec = store.describe() as TaskStore["describe"];
  if (spec.flavor !== "local") return { describe: spec };
  const path = String(spec.config.path ?? "");
  if (config.operator === "docker") return { describe: spec, hostPath: path };
  if (!config.artifactStoreVolume) {
    throw new OrchError("E_CONFIG_INVALID", {
      message: `The airflow orchestrator (operator kubernetes) cannot reach the local artifact store at ${path}: step pods run on cluster nodes.`,
      hint: "Use a remote artifact store (s3, gcs, azure), or set artifactStoreVolume to a ReadWriteMany claim holding the store.",
    });
  }
  return { describe: { ...spec, config: { ...spec.config, path: config.artifactStoreVolume.mountPath } } };
}

type Credentials = { kind: "secret"; name: string } | { kind: "envFile"; name: string } | undefined;

/** Where the tasks get the store's credentials from; refused when there is nowhere but the DAG file. */
function credentialSource(config: AirflowOrchestratorConfig, store: DagStore): Credentials {
  if (config.operator === "kubernetes" && config.credentialsSecret) return { kind: "secret", name: config.credentialsSecret };
  if (config.operator === "docker" && config.credentialsEnvFile) return { kind: "envFile", name: config.credentialsEnvFile };
  if (store.envNames.length === 0) return undefined;
  const key = config.operator === "kubernetes" ? "credentialsSecret" : "credentialsEnvFile";
  throw new OrchError("E_CONFIG_INVALID", {
    message: `The artifact store's credentials (${store.envNames.join(", ")}) would have to be written into the DAG file; the airflow orchestrator never does that.`,
    hint:
      config.operator === "kubernetes"
        ? `Create a Secret with those keys (kubectl create secret generic orch-store ${store.envNames.map((n) => `--from-literal=${n}=…`).join(" ")}) and set ${key}, or give the pods workload identity and the store no keys.`
        : `Write those variables into a .env file on every Airflow worker and set ${key} to its path, or give the workers an instance role and the store no keys.`,
  });
}

function dagArguments(config: AirflowOrchestratorConfig, snapshot: Snapshot, dagId: string): Record<string, PyValue> {
  const schedule = snapshot.pipeline.schedule;
  const timing = scheduleArguments(snapshot.pipeline.name, schedule);
  const maxActiveRuns = schedule && !schedule.allowOverlap ? 1 : config.maxActiveRuns;
  const failFast = snapshot.pipeline.settings.executionMode === "fail-fast";
  // "orch" always: orch schedule list finds the scheduled DAGs by it.
  const tags = [...new Set(["orch", ...config.tags, snapshot.pipeline.name])];
  return {
    dag_id: dagId,
    description: `orch pipeline ${snapshot.pipeline.name}${schedule ? ` on ${scheduleText(schedule)}` : ""} (file ${DIGEST_PLACEHOLDER})`,
    ...timing,
    ...(maxActiveRuns !== undefined ? { max_active_runs: maxActiveRuns } : {}),
    tags,
    default_args: { owner: config.owner },
    // fail-fast: the first failed task fails the DAG run and stops the others (Airflow 2.7+ fail_stop, renamed fail_fast in 3).
    ...(failFast ? { [config.airflowVersion === 3 ? "fail_fast" : "fail_stop"]: true } : {}),
    params: { orch_pipeline_hash: py("PIPELINE_HASH") },
  };
}

function scheduleText(schedule: Schedule): string {
  const when = schedule.cron !== undefined ? `cron "${schedule.cron}"` : schedule.intervalSeconds !== undefined ? `every ${schedule.intervalSeconds}s` : `once at ${schedule.runOnceAt}`;
  return `${when}${schedule.timezone ? ` ${schedule.timezone}` : ""}`;
}

/** `schedule`, `start_date`, `end_date`, `catchup` from the Schedule; an unscheduled DAG runs only when triggered. */
export function scheduleArguments(pipeline: string, schedule: Schedule | undefined): Record<string, PyValue> {
  if (!schedule) return { schedule: null, start_date: pyDate(DEFAULT_START), catchup: false };
  if (schedule.catchup && !schedule.startTime && schedule.runOnceAt === undefined) {
    throw new OrchError("E_SCHEDULE_INVALID", {
      message: `The schedule of pipeline "${pipeline}" asks for catchup without a startTime: Airflow would have to guess from when to run the missed intervals.`,
      hint: "Set the schedule's startTime (the first interval to run), or catchup: false.",
    });
  }
  const tz = schedule.timezone;
  const start = schedule.runOnceAt ?? schedule.startTime ?? DEFAULT_START;
  const base: Record<string, PyValue> = {};
  if (schedule.cron !== undefined) base.schedule = schedule.cron;
  else if (schedule.intervalSeconds !== undefined) base.schedule = py(`timedelta(seconds=${schedule.intervalSeconds})`);
  else base.schedule = "@once";
  // A cron schedule is evaluated in the start_date's timezone.
  base.start_date = pyDate(start, tz);
  if (schedule.endTime) base.end_date = pyDate(schedule.endTime, tz);
  base.catchup = schedule.catchup;
  return base;
}

function pyDate(iso: string, timezone?: string): Py {
  const d = new Date(iso);
  const parts = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  const utc = `pendulum.datetime(${parts.join(", ")}, tz="UTC")`;
  return py(timezone && timezone !== "UTC" ? `${utc}.in_timezone(${pyString(timezone)})` : utc);
}
type Py = ReturnType<typeof py>;

/** The step's airflow settings: the component's defaults, then the step's `settings.airflow`. */
function stepSettings(config: AirflowOrchestratorConfig, step: SnapshotStep): AirflowStepSettings {
  const parsed = settingsSchema.safeParse(step.settings.flavors.airflow ?? {});
  if (!parsed.success) {
    throw new OrchError("E_SETTINGS_INVALID", {
      message: `Step "${step.id}": settings.airflow is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}.`,
      hint: "See the settings table in @orch/plugin-airflow's README.",
    });
  }
  return parsed.data;
}

function settingsError(step: SnapshotStep, message: string, hint: string): OrchError {
  return new OrchError("E_SETTINGS_INVALID", { message: `Step "${step.id}": ${message}`, hint });
}

function renderTask(config: AirflowOrchestratorConfig, step: SnapshotStep, name: string, store: TaskStore, credentials: Credentials, scheduledDagId: string | undefined): string[] {
  const settings = stepSettings(config, step);
  const operator = config.operator;
  if (operator === "docker" && (settings.nodeSelector || settings.tolerations)) {
    throw settingsError(step, `settings.airflow.${settings.nodeSelector ? "nodeSelector" : "tolerations"} needs operator kubernetes: a DockerOperator runs on the Airflow worker's Docker engine and cannot choose a node.`, "Remove the setting, or use operator: kubernetes.");
  }
  const env = settings.env ?? {};
  const secretLooking = Object.keys(env).filter((key) => (redactSecrets(env) as Record<string, string>)[key] !== env[key]);
  if (secretLooking.length) {
    throw settingsError(step, `settings.airflow.env ${secretLooking.join(", ")} look${secretLooking.length === 1 ? "s" : ""} like credentials, which would be written into the DAG file in clear text.`, operator === "kubernetes" ? "Put them in the Secret named by credentialsSecret (every key becomes a variable of the pod)." : "Put them in the .env file named by credentialsEnvFile.");
  }
  const retry = step.settings.retry;
  if (retry.maxRetries > 0 && retry.backoff !== 1 && retry.backoff !== 2) {
    throw settingsError(step, `retry.backoff ${retry.backoff} cannot be expressed in Airflow: retry_exponential_backoff doubles the delay (backoff 2), or the delay stays constant (backoff 1).`, "Use backoff 1 or 2.");
  }
  const entrypoint = { ...(config.entrypointCommand ? { entrypoint: config.entrypointCommand } : {}) };
  const direct = stepCommand({ runId: RUN_ID_TEMPLATE, stepId: step.id, projectRoot: config.projectRoot, ...entrypoint });
  // A schedule's DAG runs are named by Airflow's scheduler: its tasks start the scheduled-step bin, which prepares the run and then runs this same step command.
  const command = scheduledDagId
    ? { command: config.scheduledStepCommand, args: ["--dag-id", scheduledDagId, "--airflow-run-id", RUN_ID_TEMPLATE, "--step", step.id, "--project-root", config.projectRoot, "--", ...direct.command] }
    : direct;
  const stepEnv: Record<string, PyValue> = { [ORCH_ENV.stepId]: step.id };
  for (const [key, value] of Object.entries(env)) stepEnv[key] = templateLiteral(value, operator);
  const envValue = py(`{**ORCH_ENV, ${Object.entries(stepEnv).map(([k, v]) => `${pyString(k)}: ${pyValue(v)}`).join(", ")}}`);
  const args = command.args.map((arg) => (arg === RUN_ID_TEMPLATE ? arg : templateLiteral(arg, operator)));
  const image = settings.image ? pyString(settings.image) : "IMAGE";

  const kwargs: Record<string, PyValue> = { task_id: step.id };
  if (operator === "kubernetes") {
    Object.assign(kwargs, {
      name: podName(step.id),
      namespace: config.namespace,
      image: py(image),
      cmds: command.command,
      arguments: args,
      env_vars: envValue,
      ...(credentials?.kind === "secret" ? { env_from: py(`[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=${pyString(credentials.name)}))]`) } : {}),
      ...k8sResources(step),
      ...(settings.nodeSelector ? { node_selector: settings.nodeSelector } : {}),
      ...(settings.tolerations ? { tolerations: settings.tolerations.map((t) => py(pyCall("k8s.V1Toleration", { key: t.key, operator: t.operator, value: t.value, effect: t.effect, toleration_seconds: t.tolerationSeconds }))) } : {}),
      ...(config.imagePullSecrets.length ? { image_pull_secrets: config.imagePullSecrets.map((s) => py(`k8s.V1LocalObjectReference(name=${pyString(s)})`)) } : {}),
      ...(config.artifactStoreVolume
        ? {
            volumes: [py(`k8s.V1Volume(name="orch-artifacts", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=${pyString(config.artifactStoreVolume.claimName)}))`)],
            volume_mounts: [py(`k8s.V1VolumeMount(name="orch-artifacts", mount_path=${pyString(config.artifactStoreVolume.mountPath)})`)],
          }
        : {}),
      labels: { "orch.dev/step-id": podName(step.id).slice(0, 63) },
    });
  } else {
    Object.assign(kwargs, {
      image: py(image),
      entrypoint: command.command,
      command: args,
      environment: envValue,
      // Airflow reads env_file as a template file (its ".env" template_ext), found through the DAG's template_searchpath.
      ...(credentials?.kind === "envFile" ? { env_file: basename(credentials.name) } : {}),
      working_dir: config.projectRoot,
      ...dockerResources(step),
      network_mode: config.networkMode,
      ...(store.hostPath ? { mounts: [py(`Mount(target=${pyString(store.hostPath)}, source=${pyString(store.hostPath)}, type="bind")`)] } : {}),
      ...(config.dockerUrl ? { docker_url: config.dockerUrl } : {}),
      auto_remove: "success",
    });
  }
  if (retry.maxRetries > 0) {
    kwargs.retries = retry.maxRetries;
    kwargs.retry_delay = py(`timedelta(seconds=${retry.delay})`);
    if (retry.backoff === 2) kwargs.retry_exponential_backoff = true;
    if (retry.maxDelay !== undefined) kwargs.max_retry_delay = py(`timedelta(seconds=${retry.maxDelay})`);
  }
  // One attempt per Airflow try (ORCH_ATTEMPT): its timeout plus start-up grace.
  const budget = stepTimeBudget({ settings: { ...step.settings, retry: { ...retry, maxRetries: 0 } } });
  if (budget !== undefined) kwargs.execution_timeout = py(`timedelta(seconds=${Math.ceil(budget / 1000)})`);
  if (settings.pool) kwargs.pool = settings.pool;
  if (settings.queue) kwargs.queue = settings.queue;
  if (settings.priorityWeight !== undefined) kwargs.priority_weight = settings.priorityWeight;
  const call = pyCall(operator === "kubernetes" ? "KubernetesPodOperator" : "DockerOperator", kwargs);
  return `${name} = ${call}`.split("\n");
}

function k8sResources(step: SnapshotStep): Record<string, PyValue> {
  const r = step.settings.resources;
  if (!r || (r.cpuCount === undefined && r.memory === undefined && !r.gpuCount)) return {};
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpuCount !== undefined) {
    const cpu = Number.isInteger(r.cpuCount) ? String(r.cpuCount) : `${Math.ceil(r.cpuCount * 1000)}m`;
    requests.cpu = limits.cpu = cpu;
  }
  if (r.memory !== undefined) requests.memory = limits.memory = toK8sQuantity(r.memory);
  if (r.gpuCount) limits["nvidia.com/gpu"] = String(r.gpuCount);
  return { container_resources: py(pyCall("k8s.V1ResourceRequirements", { requests, limits }, 4)) };
}

function dockerResources(step: SnapshotStep): Record<string, PyValue> {
  const r = step.settings.resources;
  if (!r) return {};
  return {
    ...(r.cpuCount !== undefined ? { cpus: r.cpuCount } : {}),
    ...(r.memory !== undefined ? { mem_limit: toDockerBytes(r.memory) } : {}),
    ...(r.gpuCount ? { device_requests: [py(`DeviceRequest(count=${r.gpuCount}, capabilities=[["gpu"]])`)] } : {}),
  };
}

/** `$ORCH_ARTIFACT_STORE` (the store's describe(), JSON): written as `json.dumps({...})` so it reads as a dict. */
function storeValue(spec: TaskStore["describe"], operator: "kubernetes" | "docker"): PyValue {
  const text = JSON.stringify(spec);
  if (templateLiteral(text, operator) !== text) return templateLiteral(text, operator);
  return py(`json.dumps(${pyValue(spec as unknown as PyValue, 4)}, separators=(",", ":"))`);
}

/** `a >> b`, or `a >> [b, c]` for a step with several downstream steps, in snapshot order. */
function renderEdges(snapshot: Snapshot, names: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const id of snapshot.order) {
    const downstream = snapshot.order.filter((other) => snapshot.steps[other]!.upstream.includes(id)).map((other) => names.get(other)!);
    if (downstream.length === 1) lines.push(`${names.get(id)} >> ${downstream[0]}`);
    else if (downstream.length > 1) lines.push(`${names.get(id)} >> ${pyValue(downstream.map((n) => py(n)), 4)}`);
  }
  return lines;
}

/** A pod name from a step id (DNS-1123): the operator adds a random suffix. */
function podName(stepId: string): string {
  return (
    stepId
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50) || "step"
  );
}

/**
 * A value for a templated operator field that Airflow must pass through unchanged: Jinja markers are
 * kept literal with a raw block, and so is a value ending like a template file (".json" for the
 * KubernetesPodOperator, ".env" for the DockerOperator), which Airflow would otherwise try to load.
 */
export function templateLiteral(value: string, operator: "kubernetes" | "docker"): string {
  const jinja = /\{[{%#]/.test(value);
  const fileLike = TEMPLATE_EXT[operator].some((ext) => value.endsWith(ext));
  if (!jinja && !fileLike) return value;
  return `{% raw %}${value.replaceAll("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}")}{% endraw %}`;
}
