/**
 * Snapshot → SageMaker pipeline definition (Version 2020-12-01): one Processing step per orch step,
 * in the snapshot's order, `DependsOn` from its upstream ids. Each step's container runs
 * `orch-entrypoint step` for its step id; the run id is the pipeline parameter `OrchRunId`, so one
 * SageMaker pipeline (per structure) serves every run, and a run's parameter values travel in its
 * snapshot in the artifact store (and, for the console, in the execution's parameters).
 */
import { ORCH_ENV, OrchError, stepCommand, stepTimeBudget, type Snapshot, type SnapshotStep } from "@orch/core/plugin";
import { FLAVOR, settingsSchema, type SageMakerOrchestratorConfig, type SageMakerStepSettings } from "./config.js";
import { instanceTypeFor } from "./instance-types.js";
import { sageMakerParameterName, stepNames } from "./names.js";

export const DEFINITION_VERSION = "2020-12-01";
/** The pipeline parameter holding orch's run id. */
export const RUN_ID_PARAMETER = "OrchRunId";
/** Where a schedule's processing jobs find their execution (its ARN names the run). */
export const EXECUTION_ARN_ENV = "ORCH_SAGEMAKER_EXECUTION_ARN";
/** SageMaker's limit on one Environment value and one container argument. */
export const ENV_VALUE_MAX = 256;
/** SageMaker's limit on a processing job's run time (9 days). */
export const MAX_RUNTIME_LIMIT = 777_600;

export type Get = { Get: string };
export type StringValue = string | Get;

export interface ProcessingStepDefinition {
  Name: string;
  Type: "Processing";
  Description?: string;
  DependsOn?: string[];
  RetryPolicies?: { ExceptionType: string[]; IntervalSeconds: number; BackoffRate: number; MaxAttempts: number }[];
  Arguments: {
    ProcessingResources: { ClusterConfig: { InstanceCount: number; InstanceType: string; VolumeSizeInGB: number; VolumeKmsKeyId?: string } };
    AppSpecification: { ImageUri: string; ContainerEntrypoint: string[]; ContainerArguments: StringValue[] };
    Environment: Record<string, StringValue>;
    RoleArn: string;
    StoppingCondition: { MaxRuntimeInSeconds: number };
    NetworkConfig?: { EnableNetworkIsolation?: boolean; VpcConfig?: { Subnets: string[]; SecurityGroupIds: string[] } };
    Tags?: { Key: string; Value: string }[];
  };
}

export type PipelineParameter = { Name: string; Type: "String" | "Integer" | "Float" | "Boolean"; Description?: string };

export interface PipelineDefinition {
  Version: typeof DEFINITION_VERSION;
  Metadata: Record<string, string>;
  Parameters: PipelineParameter[];
  Steps: ProcessingStepDefinition[];
}

export interface DefinitionInput {
  snapshot: Snapshot;
  config: SageMakerOrchestratorConfig;
  /** The image every step runs (ECR URI). */
  image: string;
  /** The artifact store as the containers open it: `describe()` of the stack's store, compacted. */
  storeSpec: { flavor: string; config?: Record<string, unknown>; package?: string };
  /**
   * The definition of a schedule's pipeline: EventBridge Scheduler cannot name a run, so each job runs
   * `orch-sagemaker-scheduled-step`, which names the run after the execution and copies the
   * schedule's snapshot (stored at `snapshotKey`) into its journal.
   */
  scheduled?: { snapshotKey: string };
}

export interface CompiledDefinition {
  definition: PipelineDefinition;
  /** orch step id → SageMaker step name. */
  stepNames: Map<string, string>;
  /** orch parameter name → SageMaker parameter name. */
  parameterNames: Map<string, string>;
}

const RUN_ID_PLACEHOLDER = "\u0000run-id\u0000";

/** A step's `settings.sagemaker`, validated (the snapshot holds them unchecked, keyed by flavor). */
export function stepSettings(step: SnapshotStep): SageMakerStepSettings {
  const raw = step.settings.flavors[FLAVOR] ?? {};
  const parsed = settingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new OrchError("E_SETTINGS_INVALID", {
    flavor: FLAVOR,
    step: step.id,
    key: `settings.sagemaker.${issue.path.join(".")}`,
    message: `Step "${step.id}": settings.sagemaker${issue.path.length ? `.${issue.path.join(".")}` : ""}: ${issue.message}.`,
    hint: "See the settings.sagemaker keys in the @orch/plugin-sagemaker README.",
  });
}

/** The SageMaker type of a parameter value (all values travel as strings at execution start). */
function parameterType(value: unknown): PipelineParameter["Type"] {
  if (typeof value === "boolean") return "Boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "Integer" : "Float";
  return "String";
}

/** A parameter's value as StartPipelineExecution takes it: strings as they are, anything else as JSON. */
export function parameterValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The definition of `snapshot`. Deterministic: the same snapshot structure and config give the same
 * definition text, whatever the parameter values (they are not defaults in the definition), so a
 * pipeline is updated only when its structure, code or config changed.
 */
export function compileDefinition(input: DefinitionInput): CompiledDefinition {
  const { snapshot, config } = input;
  if (snapshot.pipeline.dynamic) {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: FLAVOR,
      message: `Pipeline "${snapshot.pipeline.name}" is dynamic: its steps are decided while it runs, but a SageMaker pipeline definition fixes every step before the execution starts.`,
      hint: "Run dynamic pipelines on a flavor that supports them (local, local_docker, kubernetes), or make the pipeline static.",
    });
  }
  const names = stepNames(snapshot.order);
  const parameterNames = new Map(Object.keys(snapshot.parameters).sort().map((name) => [name, sageMakerParameterName(name)]));
  for (const [name, mapped] of parameterNames) {
    if (mapped === RUN_ID_PARAMETER || [...parameterNames].some(([other, m]) => other !== name && m === mapped)) {
      throw new OrchError("E_PARAMS_INVALID", {
        flavor: FLAVOR,
        message: `Pipeline parameter "${name}" would be SageMaker parameter "${mapped}", which another parameter${mapped === RUN_ID_PARAMETER ? " (orch's run id)" : ""} already uses.`,
        hint: "Rename the parameter.",
      });
    }
  }
  const storeJson = JSON.stringify(input.storeSpec);
  if (storeJson.length > ENV_VALUE_MAX) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      message: `The artifact store's configuration is ${storeJson.length} characters as JSON; SageMaker allows ${ENV_VALUE_MAX} per environment variable (${ORCH_ENV.artifactStore}).`,
      hint: "Leave optional artifact store keys at their defaults, or use a shorter path or endpoint.",
    });
  }
  const steps = snapshot.order.map((id) => processingStep(input, snapshot.steps[id]!, names, storeJson));
  const parameters: PipelineParameter[] = [
    ...(input.scheduled ? [] : [{ Name: RUN_ID_PARAMETER, Type: "String" as const, Description: "orch run id (runs/<id>/ in the artifact store)" }]),
    ...[...parameterNames].map(([name, mapped]) => ({ Name: mapped, Type: parameterType(snapshot.parameters[name]), Description: `orch pipeline parameter ${name}` })),
  ];
  const definition: PipelineDefinition = {
    Version: DEFINITION_VERSION,
    Metadata: {},
    Parameters: parameters,
    Steps: steps,
  };
  return { definition, stepNames: names, parameterNames };
}

function processingStep(input: DefinitionInput, step: SnapshotStep, names: Map<string, string>, storeJson: string): ProcessingStepDefinition {
  const { config } = input;
  const settings = stepSettings(step);
  const command = stepCommand({ runId: RUN_ID_PLACEHOLDER, stepId: step.id, projectRoot: config.projectRoot, entrypoint: config.entrypointCommand });
  const runIdRef: Get = { Get: `Parameters.${RUN_ID_PARAMETER}` };
  const withRunId = (value: string): StringValue => (value === RUN_ID_PLACEHOLDER ? runIdRef : value);
  const environment: Record<string, StringValue> = {};
  for (const [key, value] of Object.entries({ ...command.env, ...settings.environment })) environment[key] = withRunId(value);
  environment[ORCH_ENV.artifactStore] = storeJson;
  let app: ProcessingStepDefinition["Arguments"]["AppSpecification"] = { ImageUri: input.image, ContainerEntrypoint: command.command, ContainerArguments: command.args.map(withRunId) };
  if (input.scheduled) {
    delete environment[ORCH_ENV.runId];
    environment[EXECUTION_ARN_ENV] = { Get: "Execution.PipelineExecutionArn" };
    app = {
      ImageUri: input.image,
      ContainerEntrypoint: config.scheduledStepCommand,
      ContainerArguments: ["--snapshot", input.scheduled.snapshotKey, "--step", step.id, "--project-root", config.projectRoot, "--", ...config.entrypointCommand],
    };
  }
  const budget = stepTimeBudget(step);
  const maxRuntime = budget === undefined ? config.maxRuntimeInSeconds : Math.min(MAX_RUNTIME_LIMIT, Math.ceil(budget / 1000));
  const { retry } = step.settings;
  const tags = { ...config.tags, ...settings.tags };
  const network =
    config.enableNetworkIsolation !== undefined || config.subnets
      ? {
          ...(config.enableNetworkIsolation !== undefined ? { EnableNetworkIsolation: config.enableNetworkIsolation } : {}),
          ...(config.subnets ? { VpcConfig: { Subnets: config.subnets, SecurityGroupIds: config.securityGroupIds ?? [] } } : {}),
        }
      : undefined;
  const name = names.get(step.id)!;
  return {
    Name: name,
    Type: "Processing",
    ...(name === step.id ? {} : { Description: `orch step ${step.id}` }),
    ...(step.upstream.length ? { DependsOn: step.upstream.map((id) => names.get(id)!) } : {}),
    ...(retry.maxRetries > 0
      ? {
          // SageMaker retries service faults natively; the step runner in the container retries the step's own failures.
          RetryPolicies: [
            {
              ExceptionType: [...config.retryExceptionTypes],
              IntervalSeconds: Math.min(43_200, Math.max(1, Math.round(retry.delay))),
              BackoffRate: retry.backoff,
              MaxAttempts: Math.min(20, retry.maxRetries),
            },
          ],
        }
      : {}),
    Arguments: {
      ProcessingResources: {
        ClusterConfig: {
          InstanceCount: settings.instanceCount ?? 1,
          InstanceType: instanceTypeFor(step, settings, config),
          VolumeSizeInGB: settings.volumeSizeInGB ?? config.volumeSizeInGB,
          ...(config.volumeKmsKeyId ? { VolumeKmsKeyId: config.volumeKmsKeyId } : {}),
        },
      },
      AppSpecification: app,
      Environment: environment,
      RoleArn: config.executionRole,
      StoppingCondition: { MaxRuntimeInSeconds: maxRuntime },
      ...(network ? { NetworkConfig: network } : {}),
      ...(Object.keys(tags).length ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    },
  };
}
