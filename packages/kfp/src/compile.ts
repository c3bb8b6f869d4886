import {
  OrchError,
  ORCH_ENV,
  stepCommand,
  stepTimeBudget,
  type ArtifactStore,
  type Snapshot,
  type SnapshotStep,
} from "@orch/core/plugin";
import { RUN_ID_PARAMETER, assertParameterName, kfpName, taskNames } from "./names.js";
import { parameterType } from "./parameters.js";
import { toKfpResources } from "./resources.js";
import { toKfpRetryPolicy } from "./retry.js";
import { kfpStepSettingsSchema, type KfpStepSettings } from "./settings.js";
import { sortKeys } from "./sort-keys.js";
import type { KfpCompileResult, KubernetesExecutorConfig, PipelineSpec } from "./types.js";

export const KFP_SCHEMA_VERSION = "2.1.0";
/** sdkVersion of the IR orch writes (KFP reads it only for display and compatibility checks). */
export const ORCH_KFP_SDK_VERSION = "orch-kfp-0.1.0";
/** Seconds a step pod gets beyond its attempt's timeout (image pull, start-up, saving outputs). */
export const DEADLINE_GRACE_SECONDS = 120;
const DEFAULT_ACCELERATOR = "nvidia.com/gpu";
/** The KFP placeholder of the backend's run uuid (the KFP SDK's PIPELINE_JOB_ID_PLACEHOLDER). */
export const BACKEND_RUN_ID = "{{$.pipeline_job_uuid}}";
export const SETUP_TASK = "orch-setup";
export const FINALIZE_TASK = "orch-finalize";

export interface KfpCompileOptions {
  /** Image every step runs in: it holds the project (at `projectRoot`) and its node_modules. */
  image: string;
  /** The project folder inside the image. */
  projectRoot: string;
  /** How the container starts `orch-entrypoint` (default: the bin on PATH). */
  entrypoint?: readonly string[];
  /** The artifact store steps open: its `describe()` and credentials (`env()`) go into the container env. */
  store?: Pick<ArtifactStore, "describe" | "env">;
  /** Load the store plugin from this path in the image instead of resolving its flavor. */
  storePackage?: string;
  /**
   * A Kubernetes Secret holding the store's credentials (keys named like the variables `env()` gives):
   * they are read from it (PlatformSpec `secretAsEnv`) instead of being written into the IR.
   */
  storeCredentialsSecret?: string;
  /** Which `settings.<flavor>` holds the KFP step settings, and the flavor named in errors (default `kubeflow`). */
  flavor?: string;
  /** Write the KFP-on-Kubernetes PlatformSpec (default true). Without it, settings that need it are refused. */
  kubernetesPlatform?: boolean;
  /** Accelerator resource for `gpuCount` when a step names none (default `nvidia.com/gpu`). */
  defaultAcceleratorType?: string;
  /** Environment for every step (a step's `env` setting wins). */
  env?: Record<string, string>;
  description?: string;
  /**
   * For a pipeline started by the backend (a KFP recurring run), which cannot be given orch's run id:
   * the run id is the backend's run uuid (`{{$.pipeline_job_uuid}}`), a first task runs `setupCommand`
   * (it puts the run's snapshot and run record in the store) and a last task, run whatever the steps'
   * outcome (trigger policy ALL_UPSTREAM_TASKS_COMPLETED), runs `finalizeCommand` (it records the run's
   * end). Both get `--run-id <id>` appended and the artifact store's env.
   */
  scheduled?: { setupCommand: readonly string[]; finalizeCommand: readonly string[] };
  /** false: settings KFP cannot honour are warnings (through `warn`) instead of errors. */
  strict?: boolean;
  warn?: (message: string) => void;
}

/**
 * Translates a snapshot into the KFP v2 IR: one component and one container executor per step, running
 * core's `orch-entrypoint step` in `options.image`. orch moves data through its own artifact store, so
 * edges are control edges (`dependentTasks`); the run id is the root input parameter `orch_run_id`
 * (the pipeline can be uploaded once and run many times). Same snapshot and options → same output.
 */
export function toPipelineSpec(snapshot: Snapshot, options: KfpCompileOptions): KfpCompileResult {
  const flavor = options.flavor ?? "kubeflow";
  const platform = options.kubernetesPlatform !== false;
  if (snapshot.pipeline.dynamic) {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor,
      message: `Pipeline "${snapshot.pipeline.name}" is dynamic, and a KFP pipeline (${flavor}) is a static graph compiled before the run.`,
      hint: "Make the pipeline static, or run it on a flavor with dynamic support (local, local_docker, kubernetes).",
    });
  }
  const names = taskNames(snapshot.order, options.scheduled ? [SETUP_TASK, FINALIZE_TASK] : []);
  const runIdPlaceholder = `{{$.inputs.parameters['${RUN_ID_PARAMETER}']}}`;
  // Each task's orch_run_id input: the root parameter given at run creation, or the backend's run uuid.
  const runIdInput = options.scheduled ? { runtimeValue: { constant: BACKEND_RUN_ID } } : { componentInputParameter: RUN_ID_PARAMETER };
  const storeEnvNames = Object.keys(options.store?.env?.() ?? {}).sort();
  if (options.storeCredentialsSecret && !platform) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor,
      message: `${flavor}: store credentials from a Kubernetes Secret need the Kubernetes PlatformSpec, which this flavor does not write.`,
      hint: "Remove the credentials Secret setting; this backend authenticates the store itself.",
    });
  }

  if (storeEnvNames.length > 0 && !options.storeCredentialsSecret) {
    // Not silent: whoever can read the pipeline in the backend's UI can read these.
    options.warn?.(
      `the artifact store's credentials (${storeEnvNames.join(", ")}) are written into the pipeline spec's container env, readable by anyone who can see the pipeline. ` +
        (platform ? "Put them in a Kubernetes Secret and set storeCredentialsSecret, or give the pods workload identity and drop them from the store's config." : "Give the backend's service account access to the store and drop them from the store's config."),
    );
  }

  const components: Record<string, unknown> = {};
  const executors: Record<string, unknown> = {};
  const tasks: Record<string, unknown> = {};
  const platformExecutors: Record<string, KubernetesExecutorConfig> = {};

  for (const id of snapshot.order) {
    const step = snapshot.steps[id]!;
    const task = names.get(id)!;
    const settings = stepSettings(step, flavor);
    const command = stepCommand({
      runId: runIdPlaceholder,
      stepId: id,
      projectRoot: options.projectRoot,
      ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
      ...(options.store ? { store: options.store } : {}),
      ...(options.storePackage ? { storePackage: options.storePackage } : {}),
    });
    // KFP resolves input placeholders in args, not in env: the run id travels as --run-id only.
    delete command.env[ORCH_ENV.runId];
    if (options.storeCredentialsSecret) for (const name of storeEnvNames) delete command.env[name];
    const env = { ...options.env, ...command.env, ...settings.env };
    const resources = toKfpResources(step.settings.resources, settings.acceleratorType ?? options.defaultAcceleratorType ?? DEFAULT_ACCELERATOR);
    const container = {
      image: options.image,
      command: command.command,
      args: command.args,
      env: Object.keys(env)
        .sort()
        .map((name) => ({ name, value: env[name]! })),
      ...(resources ? { resources } : {}),
    };
    executors[`exec-${task}`] = { container };
    components[`comp-${task}`] = {
      executorLabel: `exec-${task}`,
      inputDefinitions: { parameters: { [RUN_ID_PARAMETER]: { parameterType: "STRING" } } },
    };
    const retryPolicy = toKfpRetryPolicy(step.settings.retry, {
      step: id,
      flavor,
      attemptGraceSeconds: DEADLINE_GRACE_SECONDS,
      ...(step.settings.timeout !== undefined ? { timeout: step.settings.timeout } : {}),
      ...(options.strict !== undefined ? { strict: options.strict } : {}), ...(options.warn ? { warn: options.warn } : {}) });
    const upstream = [...new Set(step.upstream)].map((up) => names.get(up)!).sort();
    tasks[task] = {
      taskInfo: { name: id },
      componentRef: { name: `comp-${task}` },
      inputs: { parameters: { [RUN_ID_PARAMETER]: runIdInput } },
      ...(upstream.length || options.scheduled ? { dependentTasks: options.scheduled ? [SETUP_TASK, ...upstream] : upstream } : {}),
      // orch caches through its own store (and must write each step's record): KFP's cache stays off.
      cachingOptions: {},
      ...(retryPolicy ? { retryPolicy } : {}),
    };
    const k8s = kubernetesConfig(step, settings, options, storeEnvNames);
    if (Object.keys(k8s).length) {
      if (!platform) refuseWithoutPlatform(id, flavor, k8s);
      else platformExecutors[`exec-${task}`] = k8s;
    }
  }

  if (options.scheduled) {
    // The store's env, as the steps get it (their own ids aside).
    const { env } = stepCommand({ runId: runIdPlaceholder, stepId: SETUP_TASK, projectRoot: options.projectRoot, ...(options.store ? { store: options.store } : {}), ...(options.storePackage ? { storePackage: options.storePackage } : {}) });
    delete env[ORCH_ENV.runId];
    delete env[ORCH_ENV.stepId];
    if (options.storeCredentialsSecret) for (const name of storeEnvNames) delete env[name];
    const envList = Object.keys({ ...options.env, ...env })
      .sort()
      .map((name) => ({ name, value: ({ ...options.env, ...env } as Record<string, string>)[name]! }));
    const bookend = (task: string, argv: readonly string[], extra: Record<string, unknown>) => {
      executors[`exec-${task}`] = { container: { image: options.image, command: [argv[0]!], args: [...argv.slice(1), "--run-id", runIdPlaceholder], env: envList } };
      components[`comp-${task}`] = { executorLabel: `exec-${task}`, inputDefinitions: { parameters: { [RUN_ID_PARAMETER]: { parameterType: "STRING" } } } };
      tasks[task] = { taskInfo: { name: task }, componentRef: { name: `comp-${task}` }, inputs: { parameters: { [RUN_ID_PARAMETER]: runIdInput } }, cachingOptions: {}, ...extra };
      if (options.storeCredentialsSecret && storeEnvNames.length) {
        platformExecutors[`exec-${task}`] = { secretAsEnv: [{ ...secretName(options.storeCredentialsSecret), keyToEnv: storeEnvNames.map((name) => ({ secretKey: name, envVar: name })) }] };
      }
    };
    bookend(SETUP_TASK, options.scheduled.setupCommand, {});
    bookend(FINALIZE_TASK, options.scheduled.finalizeCommand, {
      dependentTasks: [...names.values()].sort(),
      triggerPolicy: { strategy: "ALL_UPSTREAM_TASKS_COMPLETED" },
    });
  }

  const parameters: Record<string, unknown> = options.scheduled ? {} : { [RUN_ID_PARAMETER]: { parameterType: "STRING", description: "orch run id (set by orch at submit)." } };
  for (const name of Object.keys(snapshot.parameters).sort()) {
    assertParameterName(name, snapshot.pipeline.name);
    const value = snapshot.parameters[name];
    parameters[name] = {
      parameterType: parameterType(value),
      isOptional: true,
      ...(value !== null ? { defaultValue: value } : {}),
    };
  }

  const pipelineSpec = sortKeys({
    pipelineInfo: {
      name: kfpName(snapshot.pipeline.name),
      displayName: snapshot.pipeline.name,
      ...(options.description ? { description: options.description } : {}),
    },
    sdkVersion: ORCH_KFP_SDK_VERSION,
    schemaVersion: KFP_SCHEMA_VERSION,
    components,
    deploymentSpec: { executors },
    root: { dag: { tasks }, ...(Object.keys(parameters).length ? { inputDefinitions: { parameters } } : {}) },
  }) as PipelineSpec;
  const result: KfpCompileResult = { pipelineSpec };
  if (Object.keys(platformExecutors).length) {
    result.platformSpec = sortKeys({ platforms: { kubernetes: { deploymentSpec: { executors: platformExecutors } } } }) as KfpCompileResult["platformSpec"];
  }
  return result;
}

function stepSettings(step: SnapshotStep, flavor: string): KfpStepSettings {
  const parsed = kfpStepSettingsSchema.safeParse(step.settings.flavors[flavor] ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = [`settings.${flavor}`, ...issue.path.map(String)].join(".");
  throw new OrchError("E_SETTINGS_INVALID", {
    flavor,
    key,
    message: `Invalid settings for step "${step.id}": ${key}: ${issue.message}`,
    hint: `See the step settings of the ${flavor} flavor in its README.`,
  });
}

/** A Secret name as KFP ≥ 2.9 reads it (a parameter), with the deprecated field older backends read. */
function secretName(name: string) {
  return { secretName: name, secretNameParameter: { runtimeValue: { constant: name } } };
}

function kubernetesConfig(step: SnapshotStep, settings: KfpStepSettings, options: KfpCompileOptions, storeEnvNames: string[]): KubernetesExecutorConfig {
  const config: KubernetesExecutorConfig = {};
  if (Object.keys(settings.nodeSelector).length) config.nodeSelector = { labels: settings.nodeSelector };
  if (settings.tolerations.length) config.tolerations = settings.tolerations.map((t) => ({ ...t }));
  const secretEnv = settings.secretEnv.map((s) => ({
    ...secretName(s.secretName),
    keyToEnv: Object.keys(s.keys)
      .sort()
      .map((envVar) => ({ secretKey: s.keys[envVar]!, envVar })),
    ...(s.optional !== undefined ? { optional: s.optional } : {}),
  }));
  if (options.storeCredentialsSecret && storeEnvNames.length) {
    secretEnv.unshift({ ...secretName(options.storeCredentialsSecret), keyToEnv: storeEnvNames.map((name) => ({ secretKey: name, envVar: name })) });
  }
  if (secretEnv.length) config.secretAsEnv = secretEnv;
  if (settings.pvcMounts.length) {
    config.pvcMount = settings.pvcMounts.map((m) => ({
      constant: m.claimName,
      pvcNameParameter: { runtimeValue: { constant: m.claimName } },
      mountPath: m.mountPath,
      ...(m.subPath ? { subPath: m.subPath } : {}),
    }));
  }
  if (settings.imagePullSecrets.length) config.imagePullSecret = settings.imagePullSecrets.map(secretName);
  if (settings.imagePullPolicy) config.imagePullPolicy = settings.imagePullPolicy;
  if (Object.keys(settings.podLabels).length || Object.keys(settings.podAnnotations).length) {
    config.podMetadata = {
      ...(Object.keys(settings.podLabels).length ? { labels: settings.podLabels } : {}),
      ...(Object.keys(settings.podAnnotations).length ? { annotations: settings.podAnnotations } : {}),
    };
  }
  // KFP retries a task with a new pod, so one pod's budget is one attempt (the runner inside makes one).
  const budget = stepTimeBudget({ settings: { ...step.settings, retry: { ...step.settings.retry, maxRetries: 0 } } }, { graceSeconds: DEADLINE_GRACE_SECONDS });
  if (budget !== undefined) config.activeDeadlineSeconds = String(Math.ceil(budget / 1000));
  return config;
}

function refuseWithoutPlatform(id: string, flavor: string, config: KubernetesExecutorConfig): void {
  const keys = Object.keys(config).filter((key) => key !== "activeDeadlineSeconds");
  // A timeout is still enforced by the step runner in the container; only the pod deadline is missing.
  if (!keys.length) return;
  throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
    flavor,
    key: `settings.${flavor}`,
    message: `Step "${id}" sets Kubernetes pod settings (${keys.join(", ")}), which the ${flavor} orchestrator cannot honour.`,
    hint: `Remove them from settings.${flavor}, or run on the kubeflow flavor.`,
  });
}
