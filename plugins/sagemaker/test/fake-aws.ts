/**
 * A loopback AWS for the sagemaker plugin's tests: SageMaker (AWS JSON 1.1, `X-Amz-Target:
 * SageMaker.*`), CloudWatch Logs (JSON 1.1, `Logs_20140328.*`) and EventBridge Scheduler (REST JSON,
 * `/schedules/{Name}`) on one port, spoken as the real SDK clients send them.
 *
 * It EXECUTES what it is given: a pipeline execution reads the submitted definition (inline or from
 * the S3 location, read from s3rver), and runs each Processing step's ContainerEntrypoint +
 * ContainerArguments with its Environment as a child process (or a `docker run` of the step's image
 * when `docker` is set), in DependsOn order, up to the parallelism limit, honouring RetryPolicies for
 * the service faults a test injects and StoppingCondition.MaxRuntimeInSeconds. Each attempt's output
 * goes to a CloudWatch log stream `/aws/sagemaker/ProcessingJobs` / `<job>/algo-1-<time>`.
 *
 * Errors have the real shapes: `{ "__type": "ValidationException" | "ResourceNotFound" |
 * "ConflictException" | "ThrottlingException", "message" }` with HTTP 400 (Scheduler: the
 * x-amzn-ErrorType header and 404 / 409). Lists page with NextToken.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
export const LOG_GROUP = "/aws/sagemaker/ProcessingJobs";

export interface FakeAwsOptions {
  /** What the execution role gives every processing job: e.g. the s3rver credentials. */
  jobEnv?: Record<string, string>;
  /** Reads a definition stored at PipelineDefinitionS3Location (the tests read s3rver with the real S3 client). */
  readS3?: (bucket: string, key: string) => Promise<string | undefined>;
  /** Service faults to inject per step name: each entry fails one attempt with that exception type before the container runs. */
  faults?: Record<string, string[]>;
  /** Operations answered with ThrottlingException this many times first (the SDK retries them). */
  throttle?: Record<string, number>;
  /** Run step containers with `docker run --network host` of their ImageUri instead of as local processes. */
  docker?: { mounts?: string[] };
  /** Retry intervals are scaled by this (default 0.01: 100× faster). */
  timeScale?: number;
  /** Items per page of the list operations (small, so clients must follow NextToken). */
  pageSize?: number;
  /** Working directory of the step processes. */
  cwd?: string;
}

type Json = Record<string, any>;

interface StepState {
  name: string;
  status?: "Starting" | "Executing" | "Stopping" | "Stopped" | "Failed" | "Succeeded";
  attempts: number;
  failureReason?: string;
  startTime?: number;
  endTime?: number;
  jobName?: string;
  jobs: string[];
  child?: ChildProcess;
}

export interface Execution {
  arn: string;
  id: string;
  pipelineName: string;
  displayName?: string;
  status: "Executing" | "Stopping" | "Stopped" | "Failed" | "Succeeded";
  failureReason?: string;
  parameters: Record<string, string>;
  definition: Json;
  steps: Map<string, StepState>;
  created: number;
  modified: number;
  token?: string;
  done: Promise<void>;
}

export interface Pipeline {
  name: string;
  arn: string;
  definition: string;
  roleArn: string;
  description?: string;
  parallelism?: number;
  tags: Json[];
  created: number;
  modified: number;
  token: string;
  /** How many times the definition was set: 1 after create, +1 per update. */
  version: number;
  /** Where the last definition came from: the request, or PipelineDefinitionS3Location. */
  source: "inline" | "s3";
}

export interface Schedule {
  Name: string;
  Arn: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  StartDate?: number;
  EndDate?: number;
  State: string;
  Target: Json;
  FlexibleTimeWindow: Json;
  ActionAfterCompletion?: string;
  Description?: string;
  CreationDate: number;
}

export interface FakeAws {
  endpoint: string;
  pipelines: Map<string, Pipeline>;
  executions: Map<string, Execution>;
  schedules: Map<string, Schedule>;
  /** Log group → stream → lines. */
  logs: Map<string, Map<string, { timestamp: number; message: string; ingestionTime: number }[]>>;
  /** Every operation called, in order ("SageMaker.CreatePipeline", "Scheduler.CreateSchedule" …). */
  calls: string[];
  /** Starts an execution as EventBridge Scheduler would when `schedule` fires. */
  fire(scheduleName: string): Promise<Execution>;
  close(): Promise<void>;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const now = () => Date.now() / 1000;
const PIPELINE_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
const STEP_NAME = /^[A-Za-z0-9\-_]{1,64}$/;
const ROLE_ARN = /^arn:aws[a-z\-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const ENV_KEY = /^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/;
const STRING_MAX = 256;
const DEFINITION_MAX = 1_048_576;

export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const pipelines = new Map<string, Pipeline>();
  const executions = new Map<string, Execution>();
  const schedules = new Map<string, Schedule>();
  const logs: FakeAws["logs"] = new Map();
  const calls: string[] = [];
  const throttle = { ...options.throttle };
  const faults = Object.fromEntries(Object.entries(options.faults ?? {}).map(([k, v]) => [k, [...v]]));
  const timeScale = options.timeScale ?? 0.01;
  const pageSize = options.pageSize ?? 2;

  const pipelineArn = (name: string) => `arn:aws:sagemaker:${REGION}:${ACCOUNT}:pipeline/${name.toLowerCase()}`;
  const findPipeline = (name: string): Pipeline => {
    const key = name.startsWith("arn:") ? name.split("/").pop()! : name;
    const pipeline = [...pipelines.values()].find((p) => p.name.toLowerCase() === key.toLowerCase());
    if (!pipeline) throw new AwsError("ResourceNotFound", `Pipeline '${pipelineArn(key)}' does not exist.`);
    return pipeline;
  };
  const findExecution = (arn: string): Execution => {
    const execution = executions.get(arn);
    if (!execution) throw new AwsError("ResourceNotFound", `Pipeline execution '${arn}' does not exist.`);
    return execution;
  };

  /** The definition as SageMaker reads it: inline, or from S3; validated like CreatePipeline does. */
  async function readDefinition(input: Json): Promise<string> {
    let text: string | undefined = input.PipelineDefinition;
    const location = input.PipelineDefinitionS3Location;
    if (text !== undefined && location) throw new AwsError("ValidationException", "Only one of PipelineDefinition or PipelineDefinitionS3Location may be given.");
    if (location) {
      if (!options.readS3) throw new AwsError("ValidationException", "PipelineDefinitionS3Location is not readable in this test.");
      text = await options.readS3(location.Bucket, location.ObjectKey);
      if (text === undefined) throw new AwsError("ValidationException", `Unable to read pipeline definition from s3://${location.Bucket}/${location.ObjectKey}.`);
    }
    if (text === undefined) throw new AwsError("ValidationException", "Either PipelineDefinition or PipelineDefinitionS3Location must be given.");
    if (input.PipelineDefinition !== undefined && text.length > DEFINITION_MAX) {
      throw new AwsError("ValidationException", `1 validation error detected: Value at 'pipelineDefinition' failed to satisfy constraint: Member must have length less than or equal to ${DEFINITION_MAX}`);
    }
    validateDefinition(text);
    return text;
  }

  function validateDefinition(text: string): void {
    let definition: Json;
    try {
      definition = JSON.parse(text);
    } catch {
      throw new AwsError("ValidationException", "Unable to parse pipeline definition: it is not valid JSON.");
    }
    if (definition.Version !== "2020-12-01") throw new AwsError("ValidationException", `Unsupported pipeline definition version: ${definition.Version}`);
    const names = new Set<string>();
    const params = new Set((definition.Parameters ?? []).map((p: Json) => p.Name));
    for (const step of definition.Steps ?? []) {
      if (!STEP_NAME.test(step.Name ?? "")) throw new AwsError("ValidationException", `Step name '${step.Name}' must match ${STEP_NAME.source}.`);
      if (names.has(step.Name)) throw new AwsError("ValidationException", `Step names must be unique: '${step.Name}' is used more than once.`);
      names.add(step.Name);
      if (step.Type !== "Processing") throw new AwsError("ValidationException", `Step '${step.Name}': this fake runs Processing steps only, got '${step.Type}'.`);
      const args = step.Arguments ?? {};
      if (!args.AppSpecification?.ImageUri) throw new AwsError("ValidationException", `Step '${step.Name}': AppSpecification.ImageUri is required.`);
      if (!args.ProcessingResources?.ClusterConfig?.InstanceType?.startsWith?.("ml.")) throw new AwsError("ValidationException", `Step '${step.Name}': ProcessingResources.ClusterConfig.InstanceType must be an ml.* type.`);
      if (!ROLE_ARN.test(args.RoleArn ?? "")) throw new AwsError("ValidationException", `Step '${step.Name}': RoleArn '${args.RoleArn}' is not a role ARN.`);
      for (const [key, value] of Object.entries(args.Environment ?? {})) {
        if (!ENV_KEY.test(key)) throw new AwsError("ValidationException", `Step '${step.Name}': environment key '${key}' is invalid.`);
        if (typeof value === "string" && value.length > STRING_MAX) throw new AwsError("ValidationException", `Step '${step.Name}': environment value of '${key}' is longer than ${STRING_MAX}.`);
      }
      for (const value of [...(args.AppSpecification.ContainerEntrypoint ?? []), ...(args.AppSpecification.ContainerArguments ?? [])]) {
        if (typeof value === "string" && value.length > STRING_MAX) throw new AwsError("ValidationException", `Step '${step.Name}': a container argument is longer than ${STRING_MAX}.`);
      }
      for (const ref of references(step)) {
        if (ref.startsWith("Parameters.") && !params.has(ref.slice("Parameters.".length))) throw new AwsError("ValidationException", `Step '${step.Name}' refers to undefined parameter '${ref}'.`);
      }
    }
    for (const step of definition.Steps ?? []) {
      for (const dep of step.DependsOn ?? []) if (!names.has(dep)) throw new AwsError("ValidationException", `Step '${step.Name}' depends on '${dep}', which is not a step of the pipeline.`);
    }
    // A cycle makes the execution impossible.
    const order = topoOrder(definition.Steps ?? []);
    if (!order) throw new AwsError("ValidationException", "Pipeline definition has a cycle in DependsOn.");
  }

  function paginate<T>(items: T[], input: Json, key: string): Json {
    const start = input.NextToken ? Number(Buffer.from(input.NextToken, "base64url").toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw new AwsError("ValidationException", "Invalid NextToken.");
    const size = Math.min(input.MaxResults ?? pageSize, pageSize);
    const page = items.slice(start, start + size);
    const next = start + size < items.length ? Buffer.from(String(start + size)).toString("base64url") : undefined;
    return { [key]: page, ...(next ? { NextToken: next } : {}) };
  }

  const sagemaker: Record<string, (input: Json) => Promise<Json> | Json> = {
    async CreatePipeline(input) {
      if (!PIPELINE_NAME.test(input.PipelineName ?? "")) throw new AwsError("ValidationException", `1 validation error detected: Value '${input.PipelineName}' at 'pipelineName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${PIPELINE_NAME.source}`);
      if (!ROLE_ARN.test(input.RoleArn ?? "")) throw new AwsError("ValidationException", `1 validation error detected: Value '${input.RoleArn}' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern`);
      if (!input.ClientRequestToken || input.ClientRequestToken.length < 32) throw new AwsError("ValidationException", "ClientRequestToken must be 32 to 128 characters.");
      const existing = [...pipelines.values()].find((p) => p.name.toLowerCase() === input.PipelineName.toLowerCase());
      if (existing) {
        if (existing.token === input.ClientRequestToken) return { PipelineArn: existing.arn };
        throw new AwsError("ValidationException", `Pipeline names must be unique within an AWS account and region. Pipeline with name (${input.PipelineName}) already exists.`);
      }
      const definition = await readDefinition(input);
      const pipeline: Pipeline = {
        name: input.PipelineName,
        arn: pipelineArn(input.PipelineName),
        definition,
        roleArn: input.RoleArn,
        description: input.PipelineDescription,
        parallelism: input.ParallelismConfiguration?.MaxParallelExecutionSteps,
        tags: input.Tags ?? [],
        created: now(),
        modified: now(),
        token: input.ClientRequestToken,
        version: 1,
        source: input.PipelineDefinitionS3Location ? "s3" : "inline",
      };
      pipelines.set(pipeline.name, pipeline);
      return { PipelineArn: pipeline.arn };
    },
    async UpdatePipeline(input) {
      const pipeline = findPipeline(input.PipelineName);
      if (input.PipelineDefinition !== undefined || input.PipelineDefinitionS3Location) {
        pipeline.definition = await readDefinition(input);
        pipeline.source = input.PipelineDefinitionS3Location ? "s3" : "inline";
      }
      if (input.RoleArn) {
        if (!ROLE_ARN.test(input.RoleArn)) throw new AwsError("ValidationException", `Value '${input.RoleArn}' at 'roleArn' failed to satisfy constraint`);
        pipeline.roleArn = input.RoleArn;
      }
      if (input.PipelineDescription !== undefined) pipeline.description = input.PipelineDescription;
      if (input.ParallelismConfiguration) pipeline.parallelism = input.ParallelismConfiguration.MaxParallelExecutionSteps;
      pipeline.modified = now();
      pipeline.version++;
      return { PipelineArn: pipeline.arn, PipelineVersionId: pipeline.version };
    },
    DescribePipeline(input) {
      const p = findPipeline(input.PipelineName);
      return {
        PipelineArn: p.arn,
        PipelineName: p.name,
        PipelineDefinition: p.definition,
        PipelineDescription: p.description,
        RoleArn: p.roleArn,
        PipelineStatus: "Active",
        CreationTime: p.created,
        LastModifiedTime: p.modified,
        ...(p.parallelism ? { ParallelismConfiguration: { MaxParallelExecutionSteps: p.parallelism } } : {}),
      };
    },
    DeletePipeline(input) {
      const p = findPipeline(input.PipelineName);
      pipelines.delete(p.name);
      return { PipelineArn: p.arn };
    },
    StartPipelineExecution(input) {
      const pipeline = findPipeline(input.PipelineName);
      const same = [...executions.values()].find((e) => e.pipelineName === pipeline.name && input.ClientRequestToken && e.token === input.ClientRequestToken);
      if (same) return { PipelineExecutionArn: same.arn };
      return { PipelineExecutionArn: startExecution(pipeline, input).arn };
    },
    DescribePipelineExecution(input) {
      const e = findExecution(input.PipelineExecutionArn);
      return {
        PipelineArn: pipelineArn(e.pipelineName),
        PipelineExecutionArn: e.arn,
        PipelineExecutionDisplayName: e.displayName,
        PipelineExecutionStatus: e.status,
        ...(e.failureReason ? { FailureReason: e.failureReason } : {}),
        CreationTime: e.created,
        LastModifiedTime: e.modified,
      };
    },
    ListPipelineExecutions(input) {
      const pipeline = findPipeline(input.PipelineName);
      const items = [...executions.values()]
        .filter((e) => e.pipelineName === pipeline.name)
        .sort((a, b) => b.created - a.created)
        .map((e) => ({ PipelineExecutionArn: e.arn, PipelineExecutionDisplayName: e.displayName, PipelineExecutionStatus: e.status, StartTime: e.created }));
      return paginate(items, input, "PipelineExecutionSummaries");
    },
    ListPipelineExecutionSteps(input) {
      const e = findExecution(input.PipelineExecutionArn);
      const items = [...e.steps.values()]
        .filter((s) => s.status)
        .sort((a, b) => (input.SortOrder === "Ascending" ? 1 : -1) * ((a.startTime ?? 0) - (b.startTime ?? 0)))
        .map((s) => ({
          StepName: s.name,
          StepStatus: s.status,
          AttemptCount: s.attempts,
          ...(s.startTime ? { StartTime: s.startTime } : {}),
          ...(s.endTime ? { EndTime: s.endTime } : {}),
          ...(s.failureReason ? { FailureReason: s.failureReason } : {}),
          ...(s.jobName ? { Metadata: { ProcessingJob: { Arn: `arn:aws:sagemaker:${REGION}:${ACCOUNT}:processing-job/${s.jobName}` } } } : {}),
        }));
      return paginate(items, input, "PipelineExecutionSteps");
    },
    StopPipelineExecution(input) {
      const e = findExecution(input.PipelineExecutionArn);
      if (!input.ClientRequestToken) throw new AwsError("ValidationException", "ClientRequestToken is required.");
      if (e.status !== "Executing" && e.status !== "Stopping") throw new AwsError("ValidationException", `Pipeline execution '${e.arn}' is in terminal state '${e.status}' and cannot be stopped.`);
      if (e.status === "Executing") {
        e.status = "Stopping";
        e.modified = now();
        for (const step of e.steps.values()) {
          if (step.status === "Executing" || step.status === "Starting") {
            step.status = "Stopping";
            step.child?.kill("SIGTERM");
            const child = step.child;
            setTimeout(() => child?.kill("SIGKILL"), 10_000).unref();
          }
        }
      }
      return { PipelineExecutionArn: e.arn };
    },
  };

  function startExecution(pipeline: Pipeline, input: Json): Execution {
    const definition = JSON.parse(pipeline.definition);
    const declared = new Map<string, Json>((definition.Parameters ?? []).map((p: Json) => [p.Name, p]));
    const parameters: Record<string, string> = {};
    for (const p of declared.values()) if (p.DefaultValue !== undefined) parameters[p.Name] = String(p.DefaultValue);
    for (const given of input.PipelineParameters ?? []) {
      const p = declared.get(given.Name);
      if (!p) throw new AwsError("ValidationException", `Pipeline parameter '${given.Name}' is not defined in the pipeline definition.`);
      if (p.Type === "Integer" && !/^-?\d+$/.test(given.Value)) throw new AwsError("ValidationException", `Pipeline parameter '${given.Name}' is of type Integer; got '${given.Value}'.`);
      if (p.Type === "Float" && Number.isNaN(Number(given.Value))) throw new AwsError("ValidationException", `Pipeline parameter '${given.Name}' is of type Float; got '${given.Value}'.`);
      if (p.Type === "Boolean" && !/^(true|false)$/i.test(given.Value)) throw new AwsError("ValidationException", `Pipeline parameter '${given.Name}' is of type Boolean; got '${given.Value}'.`);
      parameters[given.Name] = given.Value;
    }
    for (const name of declared.keys()) {
      if (parameters[name] === undefined) throw new AwsError("ValidationException", `Pipeline parameter '${name}' has no default value and no value was given.`);
    }
    const id = randomBytes(6).toString("hex");
    const execution: Execution = {
      arn: `${pipeline.arn}/execution/${id}`,
      id,
      pipelineName: pipeline.name,
      ...(input.PipelineExecutionDisplayName ? { displayName: input.PipelineExecutionDisplayName } : {}),
      status: "Executing",
      parameters,
      definition,
      steps: new Map((definition.Steps as Json[]).map((s) => [s.Name, { name: s.Name, attempts: 0, jobs: [] }])),
      created: now(),
      modified: now(),
      ...(input.ClientRequestToken ? { token: input.ClientRequestToken } : {}),
      done: Promise.resolve(),
    };
    executions.set(execution.arn, execution);
    const parallelism = input.ParallelismConfiguration?.MaxParallelExecutionSteps ?? pipeline.parallelism ?? Number.POSITIVE_INFINITY;
    execution.done = runExecution(execution, parallelism).catch((error) => {
      execution.status = "Failed";
      execution.failureReason = `InternalServerError: ${(error as Error).message}`;
    });
    return execution;
  }

  /** Runs the definition's steps in DependsOn order: a step starts when all it depends on succeeded. */
  async function runExecution(execution: Execution, parallelism: number): Promise<void> {
    const steps = execution.definition.Steps as Json[];
    const running = new Map<string, Promise<void>>();
    let failed = false;
    for (;;) {
      const stopping = execution.status === "Stopping";
      if (!stopping && !failed) {
        for (const step of steps) {
          const state = execution.steps.get(step.Name)!;
          if (state.status || running.size >= parallelism) continue;
          const ready = (step.DependsOn ?? []).every((dep: string) => execution.steps.get(dep)!.status === "Succeeded");
          if (!ready) continue;
          running.set(step.Name, runStep(execution, step, state).finally(() => running.delete(step.Name)));
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
      if ([...execution.steps.values()].some((s) => s.status === "Failed")) failed = true;
    }
    execution.modified = now();
    if (execution.status === "Stopping") {
      execution.status = "Stopped";
    } else if (failed) {
      execution.status = "Failed";
      const names = [...execution.steps.values()].filter((s) => s.status === "Failed").map((s) => s.name);
      execution.failureReason = `Step failure: One or multiple steps failed (${names.join(", ")}).`;
    } else {
      execution.status = "Succeeded";
    }
  }

  async function runStep(execution: Execution, step: Json, state: StepState): Promise<void> {
    state.status = "Starting";
    state.startTime = now();
    const policies: Json[] = step.RetryPolicies ?? [];
    const retriesUsed = new Map<Json, number>();
    for (;;) {
      state.attempts++;
      const job = `pipelines-${execution.id}-${step.Name.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")}-${randomBytes(3).toString("hex")}`.slice(0, 63).replace(/-+$/, "");
      state.jobName = job;
      state.jobs.push(job);
      const fault = faults[step.Name]?.shift();
      let outcome: { ok: true } | { ok: false; reason: string; exception?: string };
      if (fault) {
        appendLog(`${job}/algo-1-${Math.floor(Date.now() / 1000)}`, `(fake) injected ${fault}`);
        outcome = { ok: false, reason: `${fault}: injected by the test`, exception: fault };
      } else {
        if ((execution.status as string) === "Stopping") {
          state.status = "Stopped";
          break;
        }
        state.status = "Executing";
        outcome = await runContainer(execution, step, state, job);
      }
      if (outcome.ok) {
        state.status = "Succeeded";
        delete state.failureReason;
        break;
      }
      if ((execution.status as string) === "Stopping") {
        state.status = "Stopped";
        state.failureReason = outcome.reason;
        break;
      }
      const policy = outcome.exception ? policies.find((p) => (Array.isArray(p.ExceptionType) ? p.ExceptionType : [p.ExceptionType]).includes(outcome.exception)) : undefined;
      const used = policy ? (retriesUsed.get(policy) ?? 0) : 0;
      if (policy && used < (policy.MaxAttempts ?? 5)) {
        retriesUsed.set(policy, used + 1);
        const seconds = (policy.IntervalSeconds ?? 1) * (policy.BackoffRate ?? 2) ** used;
        state.failureReason = outcome.reason;
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000 * timeScale));
        continue;
      }
      state.status = "Failed";
      state.failureReason = outcome.reason;
      break;
    }
    state.endTime = now();
    delete state.child;
  }

  function resolveValue(execution: Execution, value: unknown): string {
    if (typeof value === "string") return value;
    const ref = (value as Json)?.Get;
    if (typeof ref === "string") {
      if (ref.startsWith("Parameters.")) return execution.parameters[ref.slice("Parameters.".length)] ?? "";
      if (ref === "Execution.PipelineExecutionId") return execution.id;
      if (ref === "Execution.PipelineExecutionArn") return execution.arn;
    }
    throw new AwsError("ValidationException", `Unsupported value ${JSON.stringify(value)} in the definition.`);
  }

  function appendLog(stream: string, message: string): void {
    if (!logs.has(LOG_GROUP)) logs.set(LOG_GROUP, new Map());
    const group = logs.get(LOG_GROUP)!;
    if (!group.has(stream)) group.set(stream, []);
    group.get(stream)!.push({ timestamp: Date.now(), message, ingestionTime: Date.now() });
  }

  /** One processing job: the step's container as a child process (or docker run), killed after MaxRuntimeInSeconds. */
  function runContainer(execution: Execution, step: Json, state: StepState, job: string): Promise<{ ok: true } | { ok: false; reason: string; exception?: string }> {
    const args = step.Arguments;
    const entrypoint = (args.AppSpecification.ContainerEntrypoint ?? []).map((v: unknown) => resolveValue(execution, v));
    const argv = [...entrypoint, ...(args.AppSpecification.ContainerArguments ?? []).map((v: unknown) => resolveValue(execution, v))];
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(args.Environment ?? {})) environment[key] = resolveValue(execution, value);
    const stream = `${job}/algo-1-${Math.floor(Date.now() / 1000)}`;
    appendLog(stream, "");
    logs.get(LOG_GROUP)!.get(stream)!.pop();
    let child: ChildProcess;
    if (options.docker) {
      const envFlags = Object.entries({ ...options.jobEnv, ...environment }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
      const mounts = (options.docker.mounts ?? []).flatMap((m) => ["-v", `${m}:${m}`]);
      const user = typeof process.getuid === "function" ? ["--user", `${process.getuid()}:${process.getgid!()}`] : [];
      const dockerArgs = ["run", "--rm", "--network", "host", "--name", job, ...user, ...(options.cwd ? ["-w", options.cwd] : []), ...mounts, ...envFlags, ...(entrypoint.length ? ["--entrypoint", entrypoint[0]!] : []), args.AppSpecification.ImageUri, ...argv.slice(entrypoint.length ? 1 : 0)];
      child = spawn("docker", dockerArgs, { stdio: ["ignore", "pipe", "pipe"] });
    } else {
      const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", ...options.jobEnv, ...environment };
      child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd ?? process.cwd(), env, stdio: ["ignore", "pipe", "pipe"] });
    }
    state.child = child;
    for (const source of [child.stdout!, child.stderr!]) createInterface({ input: source }).on("line", (line) => appendLog(stream, line));
    const maxRuntime = args.StoppingCondition?.MaxRuntimeInSeconds ?? 86_400;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      if (options.docker) spawn("docker", ["kill", job], { stdio: "ignore" });
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    }, maxRuntime * 1000);
    return new Promise((resolve) => {
      let spawnError: Error | undefined;
      child.on("error", (error) => (spawnError = error));
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (spawnError) {
          appendLog(stream, spawnError.message);
          resolve({ ok: false, reason: `ClientError: Failed to invoke the container entrypoint: ${spawnError.message}` });
        } else if (timedOut) {
          resolve({ ok: false, reason: `ClientError: The processing job ${job} exceeded MaxRuntimeInSeconds (${maxRuntime}) and was stopped.` });
        } else if (code === 0) {
          resolve({ ok: true });
        } else {
          resolve({ ok: false, reason: `AlgorithmError: See job logs for more information (exit code ${code ?? signal})` });
        }
      });
    });
  }

  const logsApi: Record<string, (input: Json) => Json> = {
    DescribeLogStreams(input) {
      const group = logs.get(input.logGroupName);
      if (!group) throw new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
      const prefix = input.logStreamNamePrefix ?? "";
      const items = [...group.entries()]
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, events]) => ({ logStreamName: name, creationTime: events[0]?.timestamp ?? Date.now(), arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${input.logGroupName}:log-stream:${name}` }))
        .sort((a, b) => a.logStreamName.localeCompare(b.logStreamName));
      const page = paginate(items, { NextToken: input.nextToken, MaxResults: input.limit }, "logStreams");
      return { logStreams: page.logStreams, ...(page.NextToken ? { nextToken: page.NextToken } : {}) };
    },
    GetLogEvents(input) {
      const events = logs.get(input.logGroupName)?.get(input.logStreamName);
      if (!events) throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
      const start = input.nextToken ? Number(String(input.nextToken).slice(2)) : 0;
      const limit = Math.min(input.limit ?? 10_000, pageSize * 5);
      const page = events.slice(start, start + limit);
      const end = start + page.length;
      // Like CloudWatch: the forward token is returned at the end too; it is the same token when nothing is new.
      return { events: page, nextForwardToken: `f/${end}`, nextBackwardToken: `b/${start}` };
    },
  };

  // EventBridge Scheduler (REST JSON): /schedules and /schedules/{Name}.
  function scheduler(method: string, path: string, query: URLSearchParams, body: Json): { status: number; body: Json } {
    const match = /^\/schedules(?:\/([^/]+))?$/.exec(path);
    if (!match) throw new AwsError("ResourceNotFoundException", `No route ${method} ${path}`, 404);
    const name = match[1] ? decodeURIComponent(match[1]) : undefined;
    const group = query.get("groupName") ?? body.GroupName ?? "default";
    const key = `${group}/${name}`;
    if (!name && method === "GET") {
      calls.push("Scheduler.ListSchedules");
      const prefix = query.get("NamePrefix") ?? "";
      const items = [...schedules.values()]
        .filter((s) => s.Name.startsWith(prefix) && (!query.get("ScheduleGroup") || s.GroupName === query.get("ScheduleGroup")))
        .sort((a, b) => a.Name.localeCompare(b.Name))
        .map((s) => ({ Name: s.Name, Arn: s.Arn, GroupName: s.GroupName, State: s.State, Target: { Arn: s.Target.Arn }, CreationDate: s.CreationDate, LastModificationDate: s.CreationDate }));
      const page = paginate(items, { NextToken: query.get("NextToken") ?? undefined, MaxResults: query.get("MaxResults") ? Number(query.get("MaxResults")) : undefined }, "Schedules");
      return { status: 200, body: page };
    }
    if (!name) throw new AwsError("ValidationException", "Schedule name is required.");
    if (method === "POST") {
      calls.push("Scheduler.CreateSchedule");
      if (schedules.has(key)) throw new AwsError("ConflictException", `Schedule ${name} already exists.`, 409);
      const expression: string = body.ScheduleExpression ?? "";
      if (!/^(cron\((\S+ ){5}\S+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$/.test(expression)) {
        throw new AwsError("ValidationException", `Invalid Schedule Expression ${expression}.`);
      }
      if (!body.Target?.Arn || !ROLE_ARN.test(body.Target?.RoleArn ?? "")) throw new AwsError("ValidationException", "Target.Arn and a Target.RoleArn role ARN are required.");
      if (!body.FlexibleTimeWindow?.Mode) throw new AwsError("ValidationException", "FlexibleTimeWindow is required.");
      const schedule: Schedule = {
        Name: name,
        Arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/${group}/${name}`,
        GroupName: group,
        ScheduleExpression: expression,
        ...(body.ScheduleExpressionTimezone ? { ScheduleExpressionTimezone: body.ScheduleExpressionTimezone } : {}),
        ...(body.StartDate ? { StartDate: body.StartDate } : {}),
        ...(body.EndDate ? { EndDate: body.EndDate } : {}),
        State: body.State ?? "ENABLED",
        Target: body.Target,
        FlexibleTimeWindow: body.FlexibleTimeWindow,
        ...(body.ActionAfterCompletion ? { ActionAfterCompletion: body.ActionAfterCompletion } : {}),
        ...(body.Description ? { Description: body.Description } : {}),
        CreationDate: now(),
      };
      schedules.set(key, schedule);
      return { status: 200, body: { ScheduleArn: schedule.Arn } };
    }
    const schedule = schedules.get(key);
    if (!schedule) throw new AwsError("ResourceNotFoundException", `Schedule ${name} does not exist.`, 404);
    if (method === "GET") {
      calls.push("Scheduler.GetSchedule");
      return { status: 200, body: { ...schedule, LastModificationDate: schedule.CreationDate } };
    }
    if (method === "DELETE") {
      calls.push("Scheduler.DeleteSchedule");
      schedules.delete(key);
      return { status: 200, body: {} };
    }
    throw new AwsError("ValidationException", `Unsupported ${method} ${path}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const target = req.headers["x-amz-target"];
    const requestId = randomBytes(8).toString("hex");
    const send = (status: number, body: Json, headers: Record<string, string> = {}) => {
      const payload = JSON.stringify(body);
      res.writeHead(status, { "content-type": typeof target === "string" ? "application/x-amz-json-1.1" : "application/json", "x-amzn-requestid": requestId, "content-length": Buffer.byteLength(payload), ...headers });
      res.end(payload);
    };
    try {
      if (!String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 Credential=")) throw new AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 403);
      const body = text ? JSON.parse(text) : {};
      if (typeof target === "string") {
        const [service, operation] = target.split(".") as [string, string];
        const api = service === "SageMaker" ? sagemaker : service === "Logs_20140328" ? logsApi : undefined;
        const name = `${service === "Logs_20140328" ? "Logs" : service}.${operation}`;
        calls.push(name);
        if ((throttle[name] ?? 0) > 0) {
          throttle[name]!--;
          throw new AwsError("ThrottlingException", "Rate exceeded");
        }
        const op = api?.[operation];
        if (!op) throw new AwsError("UnknownOperationException", `Unknown operation ${target}`);
        send(200, await op(body));
        return;
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      const result = scheduler(req.method ?? "GET", url.pathname, url.searchParams, body);
      send(result.status, result.body);
    } catch (error) {
      if (error instanceof AwsError) {
        if (typeof target === "string") send(error.status, { __type: error.type, message: error.message });
        else send(error.status === 400 && error.type === "ResourceNotFoundException" ? 404 : error.status, { message: error.message }, { "x-amzn-errortype": error.type });
        return;
      }
      send(500, { __type: "InternalFailure", message: (error as Error).message });
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    pipelines,
    executions,
    schedules,
    logs,
    calls,
    async fire(name) {
      const schedule = [...schedules.values()].find((s) => s.Name === name);
      if (!schedule) throw new Error(`no schedule ${name}`);
      const pipeline = findPipeline(schedule.Target.Arn);
      const params = schedule.Target.SageMakerPipelineParameters?.PipelineParameterList ?? [];
      return startExecution(pipeline, { PipelineParameters: params, ClientRequestToken: createHash("sha256").update(`${name}${Date.now()}`).digest("hex") });
    },
    async close() {
      for (const execution of executions.values()) for (const step of execution.steps.values()) step.child?.kill("SIGKILL");
      await Promise.allSettled([...executions.values()].map((e) => e.done));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every `{ Get }` reference in a step. */
function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (value && typeof value === "object") {
    const get = (value as Json).Get;
    if (typeof get === "string") return [get];
    return Object.values(value).flatMap(references);
  }
  return [];
}

/** The steps in an order where each comes after what it depends on, or undefined for a cycle. */
export function topoOrder(steps: Json[]): string[] | undefined {
  const order: string[] = [];
  const done = new Set<string>();
  let progress = true;
  while (progress && order.length < steps.length) {
    progress = false;
    for (const step of steps) {
      if (done.has(step.Name)) continue;
      if ((step.DependsOn ?? []).every((d: string) => done.has(d))) {
        done.add(step.Name);
        order.push(step.Name);
        progress = true;
      }
    }
  }
  return order.length === steps.length ? order : undefined;
}
