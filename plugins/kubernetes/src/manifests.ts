/**
 * Builds the Kubernetes objects of a run as plain JSON (no SDK): the orchestrator Job, one Job per step
 * and the CronJob of a schedule. Everything here is deterministic for a given snapshot and run id.
 */
import {
  ORCH_ANNOTATIONS,
  ORCH_ENV,
  ORCH_LABELS,
  ORCH_MANAGED_BY,
  OrchError,
  intervalToCron,
  orchestrateCommand,
  scheduleKind,
  sha256,
  stepCommand,
  stepTimeBudget,
  toK8sQuantity,
  toKubernetesCron,
  type ResourceSettings,
  type Schedule,
  type Snapshot,
  type SnapshotStep,
} from "@orch/core/plugin";
import { settingsSchema, type KubernetesOrchestratorConfig, type KubernetesStepSettings, type PodSettings } from "./config.js";

export type K8sObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } };

// Labels and annotations are core's vocabulary (ORCH_LABELS, ORCH_ANNOTATIONS): label values are
// sanitised with labelValue(), the exact ids go into the annotations of the same meaning.

/** Container names: the API server and `orch run logs` address containers by these. */
export const STEP_CONTAINER = "step";
export const ORCHESTRATOR_CONTAINER = "orchestrator";
const STORE_VOLUME = "orch-artifacts";

/** Exit codes of orch-entrypoint that mean "the step itself failed or was stopped": retrying the pod cannot help. */
const FINAL_EXIT_CODES = [1, 2, 130];

/** Seconds a step pod gets beyond its attempts' timeouts and retry delays (image pull, start-up, saving outputs). */
export const DEADLINE_GRACE_SECONDS = 120;

const MAX_NAME = 63;
/** CronJob names are ≤ 52 characters: the controller appends an 11-character suffix to its Jobs' names. */
export const MAX_CRONJOB_NAME = 52;

/** `Load_Data_2` → `load-data-2`: a DNS-1123 label fragment (may be empty). */
export function dnsFragment(value: string, max: number): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, max)
    .replace(/^-+|-+$/g, "");
}

const shortHash = (value: string) => sha256(value).slice(0, 6);

/** A label value (≤ 63, alphanumeric at both ends); a hash suffix keeps distinct inputs distinct. */
export function labelValue(value: string): string {
  if (/^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/.test(value)) return value;
  const base = value.replace(/[^-A-Za-z0-9_.]+/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "").slice(0, 55).replace(/[^A-Za-z0-9]+$/, "");
  return base ? `${base}-${shortHash(value)}` : shortHash(value);
}

/** Name of a step's Job: `orch-<runId>-<step>-<hash>`, ≤ 63 characters, the same on every call (so a restart finds it). */
export function stepJobName(prefix: string, runId: string, stepId: string): string {
  const run = dnsFragment(runId, 30) || "run";
  const room = MAX_NAME - prefix.length - run.length - 6 - 3;
  const step = dnsFragment(stepId, Math.max(room, 0));
  return [prefix, run, step, shortHash(`${runId}/${stepId}`)].filter(Boolean).join("-");
}

/** Name of a run's orchestrator Job. */
export function orchestratorJobName(prefix: string, runId: string): string {
  return `${prefix}-${dnsFragment(runId, MAX_NAME - prefix.length - 1) || shortHash(runId)}`;
}

/** Name of a schedule's CronJob (≤ 52): prefix, pipeline name and a hash of what is scheduled. */
export function cronJobName(prefix: string, pipeline: string, schedule: Schedule): string {
  const hash = shortHash(JSON.stringify([pipeline, schedule.cron ?? null, schedule.intervalSeconds ?? null, schedule.timezone ?? null]));
  const room = MAX_CRONJOB_NAME - prefix.length - hash.length - 2;
  const name = dnsFragment(pipeline, room);
  return [prefix, name, hash].filter(Boolean).join("-");
}

/** The run id of a scheduled run, derived from the CronJob's Job name so a restarted pod finds the same run. */
export function scheduledRunId(jobName: string, now = new Date()): string {
  const minutes = /-(\d{6,})$/.exec(jobName)?.[1];
  const at = minutes ? new Date(Number(minutes) * 60_000) : now;
  const iso = at.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}-${iso.slice(20, 23)}-${shortHash(jobName)}`;
}

/** The artifact store the pods open: the mounted volume when one is configured, else the store as described. */
export function podArtifactStore(config: KubernetesOrchestratorConfig, store: { flavor: string; config: Record<string, unknown> }) {
  if (config.artifactStoreVolume && store.flavor === "local") return { flavor: "local", config: { path: config.artifactStoreVolume.mountPath } };
  return store;
}

/** True when the pods open the store from a volume or a path (the built-in local store), false for a bucket. */
export const isLocalStore = (store: { flavor: string }) => store.flavor === "local";

/**
 * The config the orchestrator pod creates this plugin with: in-cluster credentials, nothing from this
 * machine. `storeEnv` carries the names (never the values) of the store's credential variables, so the
 * step Jobs that pod creates read the same keys of the Secret.
 */
export function inClusterConfig(config: KubernetesOrchestratorConfig, secretName: string, storeEnv: readonly string[] = []): Record<string, unknown> {
  const { kubeconfig: _kubeconfig, kubernetesContext: _context, storeEnv: _storeEnv, ...rest } = config;
  return { ...rest, inCluster: true, synchronous: true, configSecret: secretName, ...(storeEnv.length ? { storeEnv: [...storeEnv] } : {}) };
}

/** The Secret holding a run's configuration (orchestrator config, artifact store): `<orchestrator Job>-config`. */
export function runSecretName(prefix: string, runId: string): string {
  return `${orchestratorJobName(prefix, runId)}-config`;
}

/** The Secret holding a schedule's configuration: `<CronJob>-config`. */
export function scheduleSecretName(cronJob: string): string {
  return `${cronJob}-config`;
}

/** Keys of the configuration Secret; pods get them through `secretKeyRef`, never in args or annotations. */
export const SECRET_KEYS = {
  orchestrator: "orchestrator",
  artifactStore: "artifact-store",
  /** `pod-env.NAME`: podSettings.env of the component config (step pods). */
  podEnv: (name: string) => `pod-env.${name}`,
  /** `orchestrator-env.NAME`: orchestratorPodSettings.env of the component config. */
  orchestratorEnv: (name: string) => `orchestrator-env.${name}`,
  /** `store-env.NAME`: the artifact store's `env()` (a remote store's credentials), for every pod. */
  storeEnv: (name: string) => `store-env.${name}`,
} as const;

/** Names of the store's credential variables the pods read from the Secret: known from `env()` where the run is submitted, from the config in the orchestrator pod. */
export function storeEnvNames(input: ManifestInput): string[] {
  return input.storeEnv ? Object.keys(input.storeEnv).sort() : [...(input.config.storeEnv ?? [])];
}

/** The store's credential variables as secretKeyRef entries: the values stay in the Secret. */
function storeEnvFromSecret(input: ManifestInput, secret: string): Record<string, unknown>[] {
  return storeEnvNames(input).map((name) => fromSecret(name, secret, SECRET_KEYS.storeEnv(name)));
}

const fromSecret = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
const plainEnv = (env: Record<string, string>) => Object.entries(env).map(([name, value]) => ({ name, value }));

/**
 * The Secret with everything a run's pods need that may be secret: the orchestrator component (its
 * whole config: pod env, registry settings …) and the artifact store spec (credentials of a remote
 * store). Created with the run and owned by its orchestrator Job (or a schedule's CronJob), so the
 * garbage collector deletes it with them.
 */
export function configSecret(input: ManifestInput, name: string, owner?: { kind: "Job" | "CronJob"; name: string; uid: string }): K8sObject {
  const { config, snapshot } = input;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: config.kubernetesNamespace,
      labels: { ...baseLabels(snapshot), [ORCH_LABELS.component]: "config" },
      ...(owner ? { ownerReferences: [{ apiVersion: "batch/v1", kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] } : {}),
    },
    type: "Opaque",
    stringData: {
      [SECRET_KEYS.orchestrator]: orchestratorSpec(config, name, storeEnvNames(input)),
      [SECRET_KEYS.artifactStore]: JSON.stringify(input.podStore),
      ...Object.fromEntries(Object.entries(input.storeEnv ?? {}).map(([key, value]) => [SECRET_KEYS.storeEnv(key), value])),
      ...Object.fromEntries(Object.entries(config.podSettings.env ?? {}).map(([key, value]) => [SECRET_KEYS.podEnv(key), value])),
      ...Object.fromEntries(Object.entries(config.orchestratorPodSettings.env ?? {}).map(([key, value]) => [SECRET_KEYS.orchestratorEnv(key), value])),
    },
  };
}

/** Step settings for this flavor, merged over the config's podSettings: maps merge, lists append, objects replace. */
export function stepPodSettings(config: KubernetesOrchestratorConfig, step: SnapshotStep): KubernetesStepSettings {
  const own = settingsSchema.parse(step.settings.flavors.kubernetes ?? {});
  return mergePodSettings(config.podSettings, own) as KubernetesStepSettings;
}

export function mergePodSettings<T extends PodSettings>(base: PodSettings, over: T): T {
  const maps = ["nodeSelector", "labels", "annotations", "env"] as const;
  const lists = ["tolerations", "volumes", "volumeMounts", "envFromSecrets"] as const;
  const merged: Record<string, unknown> = { ...base, ...over };
  for (const key of maps) if (base[key] || over[key]) merged[key] = { ...base[key], ...over[key] };
  for (const key of lists) if (base[key] || over[key]) merged[key] = [...(base[key] ?? []), ...(over[key] ?? [])];
  return merged as T;
}

/** requests/limits for a step: exact CPU and memory (requests = limits), GPUs as nvidia.com/gpu limits. */
export function resourceRequirements(resources: ResourceSettings | undefined): Record<string, Record<string, string>> | undefined {
  if (!resources) return undefined;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (resources.cpuCount !== undefined) {
    // Kubernetes counts CPU in millicores; a whole count stays a plain number.
    const cpu = Number.isInteger(resources.cpuCount) ? String(resources.cpuCount) : `${Math.ceil(resources.cpuCount * 1000)}m`;
    requests.cpu = cpu;
    limits.cpu = cpu;
  }
  if (resources.memory !== undefined) {
    const memory = toK8sQuantity(resources.memory);
    requests.memory = memory;
    limits.memory = memory;
  }
  if (resources.gpuCount) limits["nvidia.com/gpu"] = String(resources.gpuCount);
  const out: Record<string, Record<string, string>> = {};
  if (Object.keys(requests).length) out.requests = requests;
  if (Object.keys(limits).length) out.limits = limits;
  return Object.keys(out).length ? out : undefined;
}

/** activeDeadlineSeconds for a step with a timeout: core's time budget (attempts, retry delays) with this flavor's start-up grace. */
export function stepDeadlineSeconds(step: SnapshotStep): number | undefined {
  const budget = stepTimeBudget(step, { graceSeconds: DEADLINE_GRACE_SECONDS });
  return budget === undefined ? undefined : Math.ceil(budget / 1000);
}

interface PodSpecOptions {
  containerName: string;
  image: string;
  command: string[];
  env: Record<string, unknown>[];
  settings: PodSettings;
  serviceAccount?: string;
  resources?: Record<string, Record<string, string>>;
  /** Mount artifactStoreVolume: only for a local store (a bucket needs no volume). */
  storeVolume: boolean;
  /** Variables of settings.env whose value comes from the component config: read from its Secret. */
  configEnv?: { secret: string; key: (name: string) => string; names: ReadonlySet<string> };
}

function podTemplate(config: KubernetesOrchestratorConfig, options: PodSpecOptions, labels: Record<string, string>, annotations: Record<string, string>) {
  const { settings } = options;
  const volumes: Record<string, unknown>[] = [];
  const mounts: Record<string, unknown>[] = [];
  if (config.artifactStoreVolume && options.storeVolume) {
    volumes.push({ name: STORE_VOLUME, persistentVolumeClaim: { claimName: config.artifactStoreVolume.claimName } });
    mounts.push({ name: STORE_VOLUME, mountPath: config.artifactStoreVolume.mountPath, ...(config.artifactStoreVolume.subPath ? { subPath: config.artifactStoreVolume.subPath } : {}) });
  }
  volumes.push(...(settings.volumes ?? []));
  mounts.push(...(settings.volumeMounts ?? []));
  const { configEnv } = options;
  const env = [
    ...options.env,
    ...Object.entries(settings.env ?? {}).map(([name, value]) => (configEnv?.names.has(name) ? fromSecret(name, configEnv.secret, configEnv.key(name)) : { name, value })),
  ];
  const container: Record<string, unknown> = {
    name: options.containerName,
    image: options.image,
    command: options.command,
    workingDir: config.projectRoot,
    env,
    ...(config.imagePullPolicy ? { imagePullPolicy: config.imagePullPolicy } : {}),
    ...(settings.envFromSecrets?.length ? { envFrom: settings.envFromSecrets.map((name) => ({ secretRef: { name } })) } : {}),
    ...(options.resources ? { resources: options.resources } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...(settings.containerSecurityContext ? { securityContext: settings.containerSecurityContext } : {}),
  };
  return {
    metadata: { labels: { ...settings.labels, ...labels }, annotations: { ...settings.annotations, ...annotations } },
    spec: {
      restartPolicy: "Never",
      containers: [container],
      ...(options.serviceAccount ? { serviceAccountName: options.serviceAccount } : {}),
      ...(config.imagePullSecrets.length ? { imagePullSecrets: config.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(settings.nodeSelector ? { nodeSelector: settings.nodeSelector } : {}),
      ...(settings.tolerations ? { tolerations: settings.tolerations } : {}),
      ...(settings.affinity ? { affinity: settings.affinity } : {}),
      ...(settings.securityContext ? { securityContext: settings.securityContext } : {}),
      ...(settings.priorityClassName ? { priorityClassName: settings.priorityClassName } : {}),
      ...(volumes.length ? { volumes } : {}),
    },
  };
}

function requireImage(config: KubernetesOrchestratorConfig, image: string | undefined): string {
  const chosen = image ?? config.image;
  if (!chosen) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "kubernetes",
      key: "image",
      message: "The kubernetes orchestrator needs an image with the project and orch-entrypoint (config key image).",
      hint: "Set it with orch orchestrator update <name> --image=registry.example.com/project:tag (build it with @orch/docker or your own Dockerfile).",
    });
  }
  return chosen;
}

function baseLabels(snapshot: Snapshot): Record<string, string> {
  return { [ORCH_LABELS.managedBy]: ORCH_MANAGED_BY, [ORCH_LABELS.flavor]: "kubernetes", [ORCH_LABELS.pipeline]: labelValue(snapshot.pipeline.name) };
}

export interface ManifestInput {
  config: KubernetesOrchestratorConfig;
  snapshot: Snapshot;
  /** The artifact store spec the pods open (see podArtifactStore). */
  podStore: { flavor: string; config: Record<string, unknown> };
  /**
   * The store's `env()` where the run is submitted (a remote store's credentials): written to the
   * Secret. Absent in the orchestrator pod, which knows only the names (config key storeEnv).
   */
  storeEnv?: Record<string, string>;
  /** The stack the run was submitted on (recorded in the run's journal by the orchestrator pod). */
  stack?: string;
}

/** The Job that runs one step: `orch-entrypoint step`, retried natively for pod failures only. */
export function stepJob(input: ManifestInput, runId: string, step: SnapshotStep): K8sObject {
  const { config, snapshot } = input;
  const settings = stepPodSettings(config, step);
  const name = stepJobName(config.jobNamePrefix, runId, step.id);
  const labels = { ...baseLabels(snapshot), [ORCH_LABELS.runId]: labelValue(runId), [ORCH_LABELS.component]: "step", [ORCH_LABELS.stepId]: labelValue(step.id) };
  const annotations = { [ORCH_ANNOTATIONS.stepId]: step.id, [ORCH_ANNOTATIONS.runId]: runId };
  const serviceAccount = settings.serviceAccount ?? config.stepServiceAccount ?? config.serviceAccount;
  const secret = config.configSecret ?? runSecretName(config.jobNamePrefix, runId);
  const ownEnv = settingsSchema.parse(step.settings.flavors.kubernetes ?? {}).env ?? {};
  const configEnvNames = new Set(Object.keys(config.podSettings.env ?? {}).filter((name) => !(name in ownEnv)));
  // The store is not given to stepCommand: it reaches the pod from the Secret, never as a plain value.
  const command = stepCommand({ runId, stepId: step.id, projectRoot: config.projectRoot, ...(config.entrypointCommand ? { entrypoint: config.entrypointCommand } : {}) });
  const template = podTemplate(
    config,
    {
      containerName: STEP_CONTAINER,
      image: requireImage(config, settings.image),
      command: command.argv,
      env: [
        // From the run's (or its schedule's) Secret: a remote store's spec can hold credentials.
        fromSecret(ORCH_ENV.artifactStore, secret, SECRET_KEYS.artifactStore),
        ...storeEnvFromSecret(input, secret),
        ...plainEnv(command.env),
      ],
      settings,
      storeVolume: isLocalStore(input.podStore),
      configEnv: { secret, key: SECRET_KEYS.podEnv, names: configEnvNames },
      ...(serviceAccount ? { serviceAccount } : {}),
      ...(resourceRequirements(step.settings.resources) ? { resources: resourceRequirements(step.settings.resources)! } : {}),
    },
    labels,
    annotations,
  );
  const deadline = stepDeadlineSeconds(step);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: config.kubernetesNamespace, labels: { ...settings.labels, ...labels }, annotations },
    spec: {
      // The step runner retries failures of the step function itself (with its delays); the Job retries
      // the pod when it dies for other reasons (OOM kill, eviction, node loss) up to maxRetries times.
      backoffLimit: step.settings.retry.maxRetries,
      podFailurePolicy: {
        rules: [
          // Rules apply in order: an evicted or preempted pod is replaced without counting, whatever its exit code.
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
          { action: "FailJob", onExitCodes: { containerName: STEP_CONTAINER, operator: "In", values: FINAL_EXIT_CODES } },
        ],
      },
      ...(deadline !== undefined ? { activeDeadlineSeconds: deadline } : {}),
      ...(config.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: config.ttlSecondsAfterFinished } : {}),
      template,
    },
  };
}

function orchestratorJobSpec(input: ManifestInput, command: string[], secretName: string, extraEnv: Record<string, unknown>[], labels: Record<string, string>, annotations: Record<string, string>) {
  const { config } = input;
  const settings = config.orchestratorPodSettings;
  return {
    // A crashed or evicted orchestrator pod is replaced; the new one resumes the run (--resume).
    backoffLimit: config.orchestratorRestarts,
    podFailurePolicy: {
      rules: [
        // Rules apply in order: an evicted or preempted pod is replaced without counting, whatever its exit code.
        { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
        { action: "FailJob", onExitCodes: { containerName: ORCHESTRATOR_CONTAINER, operator: "In", values: FINAL_EXIT_CODES } },
      ],
    },
    ...(config.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: config.ttlSecondsAfterFinished } : {}),
    template: podTemplate(
      config,
      {
        containerName: ORCHESTRATOR_CONTAINER,
        image: requireImage(config, undefined),
        command,
        // The component config and the store spec come from the Secret, never from args: args and
        // annotations are readable by anyone who can list Jobs or pods.
        env: [
          fromSecret(ORCH_ENV.artifactStore, secretName, SECRET_KEYS.artifactStore),
          ...storeEnvFromSecret(input, secretName),
          fromSecret(ORCH_ENV.orchestrator, secretName, SECRET_KEYS.orchestrator),
          ...extraEnv,
        ],
        settings,
        storeVolume: isLocalStore(input.podStore),
        configEnv: { secret: secretName, key: SECRET_KEYS.orchestratorEnv, names: new Set(Object.keys(settings.env ?? {})) },
        ...(config.serviceAccount ? { serviceAccount: config.serviceAccount } : {}),
        ...(resourceRequirements(config.orchestratorResources) ? { resources: resourceRequirements(config.orchestratorResources)! } : {}),
      },
      labels,
      annotations,
    ),
  };
}

function orchestratorSpec(config: KubernetesOrchestratorConfig, secretName: string, storeEnv: readonly string[]): string {
  return JSON.stringify({ flavor: "kubernetes", ...(config.pluginPackage ? { package: config.pluginPackage } : {}), config: inClusterConfig(config, secretName, storeEnv) });
}

/** The Job whose pod runs the whole run: `orch-entrypoint orchestrate … --resume`. */
export function orchestratorJob(input: ManifestInput, runId: string): K8sObject {
  const { config, snapshot } = input;
  const labels = { ...baseLabels(snapshot), [ORCH_LABELS.runId]: labelValue(runId), [ORCH_LABELS.component]: "orchestrator" };
  const annotations = { [ORCH_ANNOTATIONS.runId]: runId, [ORCH_ANNOTATIONS.pipeline]: snapshot.pipeline.name };
  const command = orchestrateCommand({
    runId,
    projectRoot: config.projectRoot,
    ...(config.entrypointCommand ? { entrypoint: config.entrypointCommand } : {}),
    ...(input.stack ? { stack: input.stack } : {}),
    // Always resume: the first pod finds nothing to keep; a replacement pod keeps what already succeeded.
    resume: true,
    ...(config.maxParallelism ? { maxParallelism: config.maxParallelism } : {}),
  });
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: orchestratorJobName(config.jobNamePrefix, runId), namespace: config.kubernetesNamespace, labels: { ...config.orchestratorPodSettings.labels, ...labels }, annotations },
    spec: orchestratorJobSpec(input, command.argv, runSecretName(config.jobNamePrefix, runId), plainEnv(command.env), labels, annotations),
  };
}

/** The 5-field cron a CronJob understands (robfig/cron: Sunday = 0, day fields ORed), or a refusal saying why. */
export function cronJobSchedule(schedule: Schedule): string {
  const refuse = (message: string, hint: string): never => {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", { flavor: "kubernetes", message: `A Kubernetes CronJob cannot express this schedule: ${message}`, hint });
  };
  if (schedule.startTime !== undefined || schedule.endTime !== undefined) {
    refuse("startTime/endTime are not supported (a CronJob has no start or end).", "Remove startTime/endTime and create or delete the schedule at those times (orch schedule delete).");
  }
  if (schedule.catchup) {
    refuse("catchup: true is not supported (a CronJob starts at most one missed run).", "Set catchup: false, or trigger the missed runs by hand.");
  }
  const kind = scheduleKind(schedule);
  if (kind === "once") refuse("runOnceAt is not supported (a CronJob repeats).", "Run the pipeline at that time yourself, or use a cron schedule.");
  // Both converters are core's: an interval cron cannot repeat evenly is refused (E_CRON_UNSUPPORTED).
  return toKubernetesCron(kind === "interval" ? intervalToCron(schedule.intervalSeconds!, "A Kubernetes CronJob") : schedule.cron!);
}

/** Where a schedule's snapshot lives in the artifact store (each scheduled run copies it to runs/<runId>/). */
export const scheduleSnapshotKey = (name: string) => `schedules/${name}/snapshot.json`;

/** A CronJob whose Jobs run the orchestrator pod (through orch-kubernetes-scheduled-run). */
export function cronJob(input: ManifestInput, schedule: Schedule): K8sObject {
  const { config, snapshot } = input;
  const cron = cronJobSchedule(schedule);
  const name = cronJobName(config.jobNamePrefix, snapshot.pipeline.name, schedule);
  const labels = { ...baseLabels(snapshot), [ORCH_LABELS.component]: "orchestrator", [ORCH_LABELS.schedule]: name };
  const annotations = { [ORCH_ANNOTATIONS.schedule]: JSON.stringify(schedule), [ORCH_ANNOTATIONS.pipeline]: snapshot.pipeline.name };
  const command = [...config.scheduledRunCommand, "--schedule", name, "--project-root", config.projectRoot, ...(input.stack ? ["--stack", input.stack] : [])];
  const jobNameEnv = { name: "ORCH_JOB_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: config.kubernetesNamespace, labels, annotations },
    spec: {
      schedule: cron,
      timeZone: schedule.timezone ?? "UTC",
      concurrencyPolicy: schedule.allowOverlap ? "Allow" : "Forbid",
      // No catch-up: a run missed by more than this is skipped, not started late.
      startingDeadlineSeconds: 300,
      jobTemplate: { metadata: { labels, annotations }, spec: orchestratorJobSpec(input, command, scheduleSecretName(name), [jobNameEnv], labels, annotations) },
    },
  };
}
