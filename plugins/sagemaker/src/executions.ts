/**
 * Pipelines and executions: create or update a pipeline only when its definition changed, start an
 * execution for a run, read its status and steps (following NextToken), and — once it is over —
 * record in the journal what the step processes could not record themselves (a step whose job never
 * started, was stopped or killed, steps never run) and the run's end.
 */
import { FINISHED_STEP_STATUSES, OrchError, readJson, readRunRecord, readStepRecords, sha256, writeJson, writeRunRecord, writeStepRecord, type ArtifactStore, type RunRecord, type Snapshot, type StepRecord } from "@orch/core/plugin";
import type { PipelineExecutionStep } from "@aws-sdk/client-sagemaker";
import { awsError, isNotFound, type AwsClients } from "./aws.js";
import { FLAVOR, type SageMakerOrchestratorConfig } from "./config.js";
import type { PipelineDefinition } from "./definition.js";
import { s3Location, type StoreSpec } from "./store-spec.js";

/** Where the submitting process notes which execution runs a run (for status, stop and logs from any process). */
export const executionKey = (runId: string) => `sagemaker/runs/${runId}.json`;

export interface ExecutionRef {
  pipelineName: string;
  pipelineArn: string;
  executionArn: string;
  /** orch step id → SageMaker step name. */
  stepNames: Record<string, string>;
}

export const readExecutionRef = (store: ArtifactStore, runId: string) => readJson<ExecutionRef>(store, executionKey(runId));

export const TERMINAL = new Set(["Succeeded", "Failed", "Stopped"]);

/**
 * Makes pipeline `name` hold `definition`: created when missing, updated when its definition (or role,
 * parallelism) differs, left alone otherwise. Returns its ARN. A definition longer than
 * inlineDefinitionLimit goes through the s3 artifact store (PipelineDefinitionS3Location).
 */
export async function ensurePipeline(
  clients: AwsClients,
  config: SageMakerOrchestratorConfig,
  store: ArtifactStore,
  storeSpec: StoreSpec,
  name: string,
  definition: PipelineDefinition,
  snapshot: Snapshot,
): Promise<string> {
  const { client, sdk } = await clients.sagemaker();
  const text = JSON.stringify(definition);
  const hash = sha256(`${text}\n${config.executionRole}\n${config.maxParallelism ?? ""}`);
  const description = `orch pipeline ${snapshot.pipeline.name} (definition ${hash.slice(0, 16)})`;
  const source = await definitionSource(config, store, storeSpec, name, text, hash);
  const parallelism = config.maxParallelism ? { ParallelismConfiguration: { MaxParallelExecutionSteps: config.maxParallelism } } : {};
  for (let attempt = 0; ; attempt++) {
    let existing: { PipelineArn?: string; PipelineDescription?: string } | undefined;
    try {
      existing = await client.send(new sdk.DescribePipelineCommand({ PipelineName: name }));
    } catch (error) {
      if (!isNotFound(error)) throw awsError(`DescribePipeline ${name}`, error);
    }
    if (existing?.PipelineDescription === description) return existing.PipelineArn!;
    try {
      if (existing) {
        const updated = await client.send(new sdk.UpdatePipelineCommand({ PipelineName: name, ...source, RoleArn: config.executionRole, PipelineDescription: description, ...parallelism }));
        return updated.PipelineArn!;
      }
      const created = await client.send(
        new sdk.CreatePipelineCommand({
          PipelineName: name,
          ...source,
          RoleArn: config.executionRole,
          PipelineDescription: description,
          // Same definition, same token: a retried create is answered with the first one's pipeline.
          ClientRequestToken: hash.slice(0, 64),
          ...parallelism,
          ...(config.tags ? { Tags: Object.entries(config.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
        }),
      );
      return created.PipelineArn!;
    } catch (error) {
      // Another process created it between Describe and Create: read it again and update it if needed.
      if (attempt < 2 && /already exists/i.test((error as Error).message)) continue;
      throw awsError(`${existing ? "UpdatePipeline" : "CreatePipeline"} ${name}`, error);
    }
  }
}

async function definitionSource(config: SageMakerOrchestratorConfig, store: ArtifactStore, storeSpec: StoreSpec, name: string, text: string, hash: string) {
  if (text.length <= config.inlineDefinitionLimit) return { PipelineDefinition: text };
  const location = s3Location(storeSpec);
  if (!location) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "inlineDefinitionLimit",
      message: `The SageMaker definition of pipeline ${name} is ${text.length} characters, over the inline limit of ${config.inlineDefinitionLimit}, and the stack's artifact store (${storeSpec.flavor}) is not an S3 bucket SageMaker can read it from.`,
      hint: "Use an s3 artifact store, or split the pipeline.",
    });
  }
  const key = `sagemaker/definitions/${name}/${hash.slice(0, 16)}.json`;
  await store.write(key, text);
  return { PipelineDefinitionS3Location: { Bucket: location.bucket, ObjectKey: location.prefix ? `${location.prefix}/${key}` : key } };
}

export async function describeExecution(clients: AwsClients, executionArn: string) {
  const { client, sdk } = await clients.sagemaker();
  try {
    return await client.send(new sdk.DescribePipelineExecutionCommand({ PipelineExecutionArn: executionArn }));
  } catch (error) {
    throw awsError(`DescribePipelineExecution ${executionArn}`, error);
  }
}

/** Every step of an execution (all pages). */
export async function executionSteps(clients: AwsClients, executionArn: string): Promise<PipelineExecutionStep[]> {
  const { client, sdk } = await clients.sagemaker();
  const steps: PipelineExecutionStep[] = [];
  try {
    for await (const page of sdk.paginateListPipelineExecutionSteps({ client }, { PipelineExecutionArn: executionArn, SortOrder: "Ascending" })) {
      steps.push(...(page.PipelineExecutionSteps ?? []));
    }
  } catch (error) {
    throw awsError(`ListPipelineExecutionSteps ${executionArn}`, error);
  }
  return steps;
}

/** The processing job name of an execution step (its latest attempt). */
export const processingJobName = (step: PipelineExecutionStep | undefined) => step?.Metadata?.ProcessingJob?.Arn?.split("/").pop();

/**
 * Records the end of an execution in the journal: steps without a finished record get one from
 * SageMaker's view (failed with its FailureReason, stopped, or skipped when never started), then the
 * run. Idempotent: a finished record is never rewritten, so the submitting process and `orch run
 * stop` may both do it.
 */
export async function recordExecutionEnd(clients: AwsClients, store: ArtifactStore, runId: string, snapshot: Snapshot, ref: ExecutionRef, status: string, failureReason?: string): Promise<RunRecord | undefined> {
  const steps = await executionSteps(clients, ref.executionArn);
  const byName = new Map(steps.map((step) => [step.StepName, step]));
  const records = new Map((await readStepRecords(store, runId)).map((record) => [record.stepId, record]));
  const finishedAt = new Date().toISOString();
  for (const id of snapshot.order) {
    const record = records.get(id);
    if (record && FINISHED_STEP_STATUSES.has(record.status)) continue;
    const step = byName.get(ref.stepNames[id] ?? id);
    const job = processingJobName(step);
    const started = step?.StartTime ? new Date(step.StartTime).toISOString() : record?.startedAt;
    let next: Pick<StepRecord, "status" | "error">;
    if (status === "Stopped" || step?.StepStatus === "Stopped" || step?.StepStatus === "Stopping") next = { status: "stopped", error: { code: "E_CANCELLED", message: "not finished: the run was stopped" } };
    else if (step?.StepStatus === "Failed") next = { status: "failed", error: { code: "E_STEP_FAILED", message: `SageMaker: ${step.FailureReason ?? "the step failed"}${job ? ` (processing job ${job})` : ""}` } };
    else if (!step) next = { status: "skipped", error: { message: "not run: the SageMaker execution ended before it" } };
    else next = { status: "failed", error: { code: "E_STEP_FAILED", message: `SageMaker says the step ${String(step.StepStatus).toLowerCase()}, but its process recorded no result${job ? ` (processing job ${job})` : ""}` } };
    await writeStepRecord(store, {
      runId,
      stepId: id,
      name: snapshot.steps[id]!.name,
      attempts: Math.max(step?.AttemptCount ?? 0, record?.attempts ?? 0),
      ...(started ? { startedAt: started } : {}),
      finishedAt,
      outputs: record?.outputs ?? {},
      metadata: { ...record?.metadata, ...(job ? { sagemakerProcessingJob: job } : {}) },
      ...next,
    });
  }
  const run = await readRunRecord(store, runId);
  if (!run || run.status !== "running") return run;
  const final = await readStepRecords(store, runId);
  const allDone = final.length >= snapshot.order.length && final.every((r) => r.status === "succeeded" || r.status === "cached");
  const runStatus: RunRecord["status"] = status === "Stopped" ? "stopped" : status === "Succeeded" && allDone ? "succeeded" : "failed";
  const ended: RunRecord = {
    ...run,
    status: runStatus,
    finishedAt,
    ...(runStatus === "succeeded"
      ? {}
      : { error: { code: runStatus === "stopped" ? "E_CANCELLED" : "E_STEP_FAILED", message: `Run ${runId}: SageMaker execution ${status.toLowerCase()}${failureReason ? `: ${failureReason}` : ""}.` } }),
  };
  await writeRunRecord(store, ended);
  return ended;
}

export async function writeExecutionRef(store: ArtifactStore, runId: string, ref: ExecutionRef): Promise<void> {
  await writeJson(store, executionKey(runId), ref);
}
