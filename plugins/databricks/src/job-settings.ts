/**
 * Snapshot → Jobs API 2.2 `JobSettings`: one task per step (`depends_on` from the snapshot's edges, never
 * re-sorted), a start task before them and a finish task after them, a job cluster per distinct cluster
 * profile, every task a `spark_python_task` running the launcher (launcher.ts) with the command it execs.
 * Pure: the same snapshot and config give byte-identical settings, so their hash makes create/reset
 * idempotent. Nothing run-specific is in them: the run id arrives as the job parameter `orch_run_id`.
 */
import {
  ORCH_ENV,
  ORCH_LABELS,
  ORCH_MANAGED_BY,
  OrchError,
  chooseMachineType,
  hashJson,
  intervalToCron,
  retryDelayMs,
  stepCommand,
  stepTimeBudget,
  toQuartzCron,
  type Schedule,
  type Snapshot,
  type SnapshotStep,
} from "@orch/core/plugin";
import { FLAVOR, settingsSchema, type DatabricksOrchestratorConfig, type DatabricksStepSettings } from "./config.js";
import { LAUNCHER_FILE, RUN_ID_PLACEHOLDER } from "./launcher.js";
import { AWS_NODE_TYPES } from "./node-types.js";
import type { JobCluster, JobSettings, JobTask } from "./api-types.js";

/** Task keys of the start and finish tasks: "." is not allowed in step ids, so they never collide with one. */
export const START_TASK = "orch.start";
export const FINISH_TASK = "orch.finish";
/** The job parameter that carries the orch run id (empty for runs the job's schedule starts). */
export const RUN_ID_PARAMETER = "orch_run_id";
/**
 * orch's label vocabulary as Databricks tags. Job tags become cluster tags, and Azure refuses "/" in
 * tag keys, so "/" is written "_" (`app.kubernetes.io_managed-by`, `orch.dev_pipeline`).
 */
export const tagKey = (label: string) => label.replace(/[^\w.-]/g, "_");
/** Tag holding the hash of the job settings (without it): equal hash, nothing to reset. */
export const SETTINGS_HASH_TAG = tagKey("orch.dev/settings-hash");
/** Seconds a task gets beyond core's time budget for cluster start-up and image pull. */
export const CLUSTER_START_GRACE_SECONDS = 900;

export interface JobSettingsInput {
  config: DatabricksOrchestratorConfig;
  snapshot: Snapshot;
  /** The image every job cluster runs (config image, or the one built at submit). */
  image: string;
  /** `describe()` of the artifact store the tasks open. */
  store: { flavor: string; config: Record<string, unknown> };
  /** Names of the store's credential variables; each becomes a {{secrets/…}} reference, never a value. */
  storeSecretEnv: Record<string, string>;
  /** A schedule: the job gets `schedule` and its name says so. */
  schedule?: Schedule;
}

export const jobName = (config: DatabricksOrchestratorConfig, pipeline: string, scheduled = false) => `${config.jobNamePrefix}-${pipeline}${scheduled ? "-scheduled" : ""}`;
export const launcherPath = (config: DatabricksOrchestratorConfig) => `${config.launcherDir.replace(/\/+$/, "")}/${LAUNCHER_FILE}`;

/** The Databricks secret key of a store credential variable (per store, so two stores never share a key). */
export function storeSecretKey(store: { flavor: string; config: Record<string, unknown> }, name: string): string {
  return `store-${hashJson(store).slice(0, 10)}-${name}`;
}

export function stepSettings(step: SnapshotStep): DatabricksStepSettings {
  const parsed = settingsSchema.safeParse(step.settings.flavors[FLAVOR] ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new OrchError("E_SETTINGS_INVALID", {
    flavor: FLAVOR,
    step: step.id,
    key: `settings.databricks.${issue.path.join(".")}`,
    message: `Step "${step.id}": settings.databricks.${issue.path.join(".")}: ${issue.message}.`,
    hint: "See the step settings of the databricks flavor in its README.",
  });
}

/** Databricks task keys: `[\w\-.]`, at most 100 characters; orch step ids always qualify. */
function taskKey(stepId: string): string {
  if (!/^[\w-]{1,100}$/.test(stepId)) {
    throw new OrchError("E_SETTINGS_INVALID", { flavor: FLAVOR, step: stepId, message: `Step id "${stepId}" is not a valid Databricks task_key.`, hint: "Use an id of letters, digits, _ and -." });
  }
  return stepId;
}

/** The new_cluster of one step: node type from its resources (or its settings), single node unless it asks for workers. */
function clusterOf(input: JobSettingsInput, step: SnapshotStep | undefined, env: Record<string, string>): JobCluster["new_cluster"] {
  const { config } = input;
  const settings = step ? stepSettings(step) : {};
  const table = config.nodeTypes ?? AWS_NODE_TYPES;
  const resources = step?.settings.resources;
  const chosen = settings.nodeTypeId
    ? table.find((row) => row.name === settings.nodeTypeId)
    : resources && Object.keys(resources).length > 0
      ? chooseMachineType(table, resources, { flavor: FLAVOR, ...(step ? { step: step.id } : {}), key: "settings.databricks.nodeTypeId" })
      : (config.defaultNodeTypeId ? table.find((row) => row.name === config.defaultNodeTypeId) : undefined) ?? chooseMachineType(table, {}, { flavor: FLAVOR });
  const nodeTypeId = settings.nodeTypeId ?? chosen?.name ?? config.defaultNodeTypeId!;
  const gpu = (chosen?.gpuCount ?? 0) > 0;
  const numWorkers = settings.numWorkers ?? 0;
  const sparkConf: Record<string, string> = { ...settings.sparkConf };
  const customTags: Record<string, string> = {};
  if (numWorkers === 0) {
    // Databricks' single-node cluster: the driver alone, which is where every orch step runs.
    sparkConf["spark.databricks.cluster.profile"] = "singleNode";
    sparkConf["spark.master"] = "local[*, 4]";
    customTags.ResourceClass = "SingleNode";
  }
  return {
    spark_version: settings.sparkVersion ?? (gpu ? config.gpuSparkVersion : config.sparkVersion),
    node_type_id: nodeTypeId,
    num_workers: numWorkers,
    ...(Object.keys(sparkConf).length ? { spark_conf: sparkConf } : {}),
    ...(Object.keys(customTags).length ? { custom_tags: customTags } : {}),
    docker_image: {
      url: input.image,
      ...(config.imageBasicAuth ? { basic_auth: { username: config.imageBasicAuth.username, password: config.imageBasicAuth.password } } : {}),
    },
    spark_env_vars: { ...env, ...settings.env },
  };
}

/** The launcher's parameters: the run id (job parameter), the job run id, per-task env, then the command it execs. */
function launcherParameters(env: Record<string, string>, argv: string[]): string[] {
  return [`{{job.parameters.${RUN_ID_PARAMETER}}}`, "{{job.run_id}}", ...Object.entries(env).flatMap(([name, value]) => ["--env", `${name}=${value}`]), "--", ...argv];
}

export function compileJobSettings(input: JobSettingsInput): JobSettings {
  const { config, snapshot } = input;
  if (snapshot.pipeline.dynamic) {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: FLAVOR,
      message: `Pipeline "${snapshot.pipeline.name}" is dynamic: its steps are decided while it runs, but a Databricks job's tasks are fixed when it is created.`,
      hint: "Run dynamic pipelines on local, local_docker or kubernetes, or make the pipeline static.",
    });
  }
  const name = jobName(config, snapshot.pipeline.name, Boolean(input.schedule));
  // What every cluster gets: the store (its describe(), no credentials) and the credentials as secret references.
  const clusterEnv: Record<string, string> = { [ORCH_ENV.artifactStore]: JSON.stringify(input.store) };
  for (const variable of Object.keys(input.storeSecretEnv).sort()) clusterEnv[variable] = `{{secrets/${config.secretScope}/${storeSecretKey(input.store, variable)}}}`;

  const clusters = new Map<string, JobCluster>();
  const clusterKey = (spec: JobCluster["new_cluster"]) => {
    for (const [key, cluster] of clusters) if (JSON.stringify(cluster.new_cluster) === JSON.stringify(spec)) return key;
    const base = `${spec.node_type_id}${spec.num_workers ? `-w${spec.num_workers}` : ""}`.replace(/[^\w.-]/g, "_").slice(0, 90);
    let key = base;
    for (let n = 2; clusters.has(key); n++) key = `${base}-${n}`;
    clusters.set(key, { job_cluster_key: key, new_cluster: spec });
    return key;
  };

  const tasks: JobTask[] = [];
  const launcher = { python_file: launcherPath(config), source: "WORKSPACE" as const };
  const firstCluster = clusterKey(clusterOf(input, snapshot.steps[snapshot.order[0]!], clusterEnv));
  const bookkeeping = (subcommand: "start" | "finish") =>
    launcherParameters({}, [...config.runCommand, subcommand, "--run-id", RUN_ID_PLACEHOLDER, "--job", name, "--project-root", config.projectRoot]);
  tasks.push({ task_key: START_TASK, description: "orch: records the run's start (and copies a scheduled run's snapshot)", job_cluster_key: firstCluster, spark_python_task: { ...launcher, parameters: bookkeeping("start") } });
  for (const stepId of snapshot.order) {
    const step = snapshot.steps[stepId]!;
    const command = stepCommand({ runId: RUN_ID_PLACEHOLDER, stepId, projectRoot: config.projectRoot, entrypoint: config.entrypointCommand });
    const { retry } = step.settings;
    const budget = stepTimeBudget(step, { graceSeconds: CLUSTER_START_GRACE_SECONDS });
    tasks.push({
      task_key: taskKey(stepId),
      description: `orch step ${step.name}`,
      depends_on: (step.upstream.length ? step.upstream.map(taskKey) : [START_TASK]).map((task_key) => ({ task_key })),
      job_cluster_key: clusterKey(clusterOf(input, step, clusterEnv)),
      spark_python_task: { ...launcher, parameters: launcherParameters({ [ORCH_ENV.runId]: RUN_ID_PLACEHOLDER, [ORCH_ENV.stepId]: stepId }, command.argv) },
      // The step runner retries the step function with the policy's delays inside one task run; these
      // re-run the task when its process or cluster dies (the launcher does not re-run a step that failed for good).
      max_retries: retry.maxRetries,
      min_retry_interval_millis: retryDelayMs(retry, 1),
      // A timed-out task already had all its attempts (the budget covers them): not again.
      retry_on_timeout: false,
      ...(budget !== undefined ? { timeout_seconds: Math.ceil(budget / 1000) } : {}),
    });
  }
  tasks.push({
    task_key: FINISH_TASK,
    description: "orch: records the run's outcome from its steps",
    depends_on: snapshot.order.map((task_key) => ({ task_key })),
    run_if: "ALL_DONE",
    job_cluster_key: firstCluster,
    spark_python_task: { ...launcher, parameters: bookkeeping("finish") },
  });

  const settings: JobSettings = {
    name,
    description: `orch pipeline ${snapshot.pipeline.name}`,
    tags: { ...config.tags, [tagKey(ORCH_LABELS.managedBy)]: ORCH_MANAGED_BY, [tagKey(ORCH_LABELS.flavor)]: FLAVOR, [tagKey(ORCH_LABELS.pipeline)]: snapshot.pipeline.name },
    max_concurrent_runs: config.maxConcurrentRuns,
    format: "MULTI_TASK",
    parameters: [{ name: RUN_ID_PARAMETER, default: "" }],
    job_clusters: [...clusters.values()],
    tasks,
    ...(config.emailNotifications
      ? {
          email_notifications: {
            ...(config.emailNotifications.onStart ? { on_start: config.emailNotifications.onStart } : {}),
            ...(config.emailNotifications.onSuccess ? { on_success: config.emailNotifications.onSuccess } : {}),
            ...(config.emailNotifications.onFailure ? { on_failure: config.emailNotifications.onFailure } : {}),
          },
        }
      : {}),
    ...(config.runAs ? { run_as: "userName" in config.runAs ? { user_name: config.runAs.userName } : { service_principal_name: config.runAs.servicePrincipalName } } : {}),
    ...(input.schedule ? { schedule: quartzSchedule(input.schedule, config) } : {}),
  };
  settings.tags[SETTINGS_HASH_TAG] = hashJson(settings).slice(0, 16);
  return settings;
}

/**
 * A schedule as Databricks' CronSchedule: Quartz cron (core's conversion: seconds first, `?`, Sunday=1),
 * the timezone as a Java id (IANA names are Java ids), UNPAUSED. Intervals become cron through core where
 * cron can repeat them evenly; one-off runs and start/end times are refused (Databricks has neither).
 */
export function quartzSchedule(schedule: Schedule, config: DatabricksOrchestratorConfig): NonNullable<JobSettings["schedule"]> {
  const refuse = (what: string, hint: string) => new OrchError("E_CRON_UNSUPPORTED", { flavor: FLAVOR, message: `Databricks job schedules cannot express ${what}.`, hint });
  if (schedule.runOnceAt) throw refuse("a one-off run (runOnceAt)", "Run it now with orch pipeline run, or use a cron expression.");
  if (schedule.startTime || schedule.endTime) throw refuse("startTime or endTime", "Remove them, and pause or delete the schedule when it should stop.");
  if (schedule.catchup) throw refuse("catchup (Databricks never runs missed intervals)", "Set catchup: false.");
  let cron: string;
  if (schedule.cron) cron = toQuartzCron(schedule.cron);
  else cron = toQuartzCron(intervalCron(schedule.intervalSeconds!));
  return { quartz_cron_expression: cron, timezone_id: schedule.timezone ?? config.timezone, pause_status: "UNPAUSED" };
}

const intervalCron = (seconds: number) => intervalToCron(seconds, "Databricks Quartz cron");
