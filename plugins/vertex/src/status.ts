/**
 * Reading what Vertex says about a run: the PipelineJob's state and its `jobDetail.taskDetails`, mapped
 * to orch's run and step statuses, and written into the journal where the steps could not write it
 * themselves (a task whose container never started, a run that ended).
 */
import {
  FINISHED_STEP_STATUSES,
  readRunRecord,
  readStepRecords,
  writeRunRecord,
  writeStepRecord,
  type ArtifactStore,
  type RunRecord,
  type RunStatus,
  type Snapshot,
  type StepRecord,
  type StepStatus,
} from "@orch/core/plugin";
import { taskNames } from "@orch/kfp";

/** The PipelineJob fields orch reads (as the SDK returns them: enums as names). */
export interface JobView {
  name?: string | null;
  state?: string | number | null;
  error?: { message?: string | null } | null;
  jobDetail?: { taskDetails?: TaskView[] | null } | null;
}
export interface TaskView {
  taskName?: string | null;
  state?: string | number | null;
  error?: { message?: string | null } | null;
}

const JOB_STATUS: Record<string, RunStatus | "running"> = {
  PIPELINE_STATE_SUCCEEDED: "succeeded",
  PIPELINE_STATE_FAILED: "failed",
  PIPELINE_STATE_CANCELLED: "stopped",
};

/** The run status a PipelineJob state means: undefined while it is queued, pending, running or cancelling. */
export function jobStatus(job: JobView): RunStatus | undefined {
  const status = JOB_STATUS[String(job.state)];
  return status === "running" ? undefined : status;
}

/** Task states that mean the task is over, and the step status each one means. */
const TASK_STATUS: Record<string, StepStatus> = {
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  CANCELLED: "stopped",
  SKIPPED: "skipped",
  NOT_TRIGGERED: "skipped",
};
const LIVE_TASK_STATUS: Record<string, StepStatus> = { PENDING: "pending", RUNNING: "running", CANCEL_PENDING: "running", CANCELLING: "running" };

/** Each step's status as Vertex shows it (by the task names the KFP compiler gave the steps). */
export function taskStatuses(snapshot: Snapshot, job: JobView): Map<string, { status: StepStatus; message?: string }> {
  const stepOfTask = new Map([...taskNames(snapshot.order)].map(([step, task]) => [task, step]));
  const result = new Map<string, { status: StepStatus; message?: string }>();
  for (const task of job.jobDetail?.taskDetails ?? []) {
    const step = stepOfTask.get(String(task.taskName));
    const status = TASK_STATUS[String(task.state)] ?? LIVE_TASK_STATUS[String(task.state)];
    if (!step || !status) continue;
    result.set(step, { status, ...(task.error?.message ? { message: task.error.message } : {}) });
  }
  return result;
}

/**
 * Steps whose task Vertex has ended but whose record the step never finished (its container did not
 * start, was killed, or the task was skipped): their records are written from the task's state, so
 * `orch run show` tells what happened to them. A step's own record always wins.
 */
export async function recordEndedTasks(store: ArtifactStore, runId: string, snapshot: Snapshot, job: JobView): Promise<StepRecord[]> {
  const tasks = taskStatuses(snapshot, job);
  const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
  const written: StepRecord[] = [];
  for (const [stepId, task] of tasks) {
    if (!FINISHED_STEP_STATUSES.has(task.status)) continue;
    const current = records.get(stepId);
    if (current && FINISHED_STEP_STATUSES.has(current.status)) continue;
    // A succeeded task whose step wrote no record cannot be: leave it for the run's outcome to tell.
    if (task.status === "succeeded") continue;
    const record: StepRecord = {
      runId,
      stepId,
      name: snapshot.steps[stepId]?.name ?? stepId,
      status: task.status,
      attempts: current?.attempts ?? 0,
      ...(current?.startedAt ? { startedAt: current.startedAt } : {}),
      finishedAt: new Date().toISOString(),
      outputs: current?.outputs ?? {},
      metadata: current?.metadata ?? {},
      error: {
        code: task.status === "stopped" ? "E_CANCELLED" : "E_STEP_FAILED",
        message: task.message ? `Vertex AI task ${stepId}: ${task.message}` : `Vertex AI reports task ${stepId} as ${task.status}`,
      },
    };
    await writeStepRecord(store, record);
    written.push(record);
  }
  return written;
}

/**
 * Writes the end of a run whose PipelineJob has ended, when nothing wrote it yet: the ended tasks'
 * records, steps that never ran (`skipped` after a failure, `stopped` after a cancel), and run.json.
 * Returns the run's record (unchanged when it had already ended).
 */
export async function settleFromJob(store: ArtifactStore, runId: string, snapshot: Snapshot, job: JobView, base?: Partial<RunRecord>): Promise<RunRecord | undefined> {
  const status = jobStatus(job);
  if (!status) return readRunRecord(store, runId);
  const current = await readRunRecord(store, runId);
  if (current && current.status !== "running") return current;
  await recordEndedTasks(store, runId, snapshot, job);
  const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
  const finishedAt = new Date().toISOString();
  let error: RunRecord["error"];
  if (status !== "succeeded") {
    for (const stepId of snapshot.order) {
      const record = records.get(stepId);
      if (record && FINISHED_STEP_STATUSES.has(record.status)) continue;
      const stepStatus: StepStatus = status === "stopped" ? "stopped" : record ? "failed" : "skipped";
      const message = status === "stopped" ? "not finished: the run was stopped" : record ? "the PipelineJob ended while the step ran" : "not run: the run failed before it";
      await writeStepRecord(store, { ...(record ?? { runId, stepId, name: snapshot.steps[stepId]?.name ?? stepId, attempts: 0, outputs: {}, metadata: {} }), status: stepStatus, finishedAt, error: { code: status === "stopped" ? "E_CANCELLED" : "E_STEP_FAILED", message } });
    }
    const failed = snapshot.order.map((id) => records.get(id)).find((r) => r?.status === "failed");
    error =
      status === "stopped"
        ? { code: "E_CANCELLED", message: `Run ${runId} was stopped (the PipelineJob was cancelled).` }
        : { code: "E_STEP_FAILED", message: failed?.error?.message ? `Step ${failed.stepId} failed: ${failed.error.message}` : `Run ${runId}: the PipelineJob failed: ${job.error?.message ?? "no reason given"}` };
  } else {
    const missing = snapshot.order.filter((id) => !["succeeded", "cached"].includes(records.get(id)?.status ?? ""));
    if (missing.length) {
      error = { code: "E_STEP_FAILED", message: `Vertex AI reports the run as succeeded, but step${missing.length === 1 ? "" : "s"} ${missing.join(", ")} recorded no success in the artifact store (check that the tasks reach the store).` };
    }
  }
  const run: RunRecord = {
    runId,
    pipeline: snapshot.pipeline.name,
    pipelineHash: snapshot.pipeline.hash,
    startedAt: finishedAt,
    parameters: snapshot.parameters,
    orchestrator: "vertex",
    ...base,
    ...current,
    status: error && status === "succeeded" ? "failed" : status,
    finishedAt,
    ...(error ? { error } : {}),
  };
  await writeRunRecord(store, run);
  return run;
}
