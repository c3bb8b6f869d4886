/**
 * What Azure ML job statuses mean for orch, and the end of a run: when the pipeline job has finished,
 * the submitting side writes the run's final record from the steps' records (each step's command job
 * wrote its own), and records the steps whose command job ended without writing one.
 */
import {
  FINISHED_STEP_STATUSES,
  readRunRecord,
  readStepRecords,
  writeRunRecord,
  writeStepRecord,
  type ArtifactStore,
  type RunRecord,
  type Snapshot,
  type StepRecord,
} from "@orch/core/plugin";

/** Azure ML job statuses after which nothing more happens. */
export const FINISHED_JOB_STATUSES: ReadonlySet<string> = new Set(["Completed", "Failed", "Canceled", "NotResponding"]);

/** orch's run status for a pipeline job's status. */
export function runStatusOf(jobStatus: string | undefined): RunRecord["status"] {
  switch (jobStatus) {
    case "Completed":
      return "succeeded";
    case "Failed":
    case "NotResponding":
      return "failed";
    case "Canceled":
      return "stopped";
    default:
      return "running";
  }
}

/**
 * Finishes a run's journal after its pipeline job ended with `jobStatus`: steps without a finished
 * record become `stopped` (the job was cancelled), `skipped` (an upstream step did not complete) or
 * `failed` (their command job ended without recording, `childStatus` says how); then run.json gets the
 * run's outcome. A run already finished in the journal is left alone.
 */
export async function finishRun(store: ArtifactStore, snapshot: Snapshot, runId: string, jobStatus: string, childStatus: Map<string, string>): Promise<RunRecord | undefined> {
  const run = await readRunRecord(store, runId);
  if (!run || run.status !== "running") return run;
  const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
  const now = new Date().toISOString();
  const cancelled = jobStatus === "Canceled";
  for (const id of snapshot.order) {
    const current = records.get(id);
    if (current && FINISHED_STEP_STATUSES.has(current.status)) continue;
    const step = snapshot.steps[id]!;
    const upstreamDidNotComplete = step.upstream.some((up) => !["succeeded", "cached"].includes(records.get(up)?.status ?? ""));
    const child = childStatus.get(id);
    const status: StepRecord["status"] = cancelled ? "stopped" : upstreamDidNotComplete && !current ? "skipped" : "failed";
    const record: StepRecord = {
      runId,
      stepId: id,
      name: step.name,
      status,
      attempts: current?.attempts ?? 0,
      ...(current?.startedAt ? { startedAt: current.startedAt } : {}),
      finishedAt: now,
      outputs: current?.outputs ?? {},
      metadata: current?.metadata ?? {},
      ...(status === "failed"
        ? { error: { code: "E_STEP_FAILED", message: `Step ${id}: its Azure ML command job ended ${child ?? "without running"} before the step recorded a result.` } }
        : {}),
    };
    await writeStepRecord(store, record);
    records.set(id, record);
  }
  const steps = [...records.values()];
  const allDone = snapshot.order.every((id) => ["succeeded", "cached"].includes(records.get(id)?.status ?? ""));
  const status: RunRecord["status"] = cancelled ? "stopped" : allDone ? "succeeded" : "failed";
  const failed = steps.find((s) => s.status === "failed");
  const finished: RunRecord = {
    ...run,
    status,
    finishedAt: now,
    ...(status === "failed" ? { error: { code: "E_STEP_FAILED", message: failed ? `Step ${failed.stepId} failed.` : `The Azure ML pipeline job ended ${jobStatus}.` } } : {}),
    ...(status === "stopped" ? { error: { code: "E_CANCELLED", message: `Run ${runId} was stopped (its Azure ML pipeline job was cancelled).` } } : {}),
  };
  await writeRunRecord(store, finished);
  return finished;
}
