/**
 * KFP run and task states as orch statuses, and the end of a run in the journal. The step processes
 * write their own records; KFP knows what they could not write: a pod that never started (image pull,
 * scheduling), a task killed at its deadline or by terminate, tasks never run after a failure.
 */
import { journalKeys, readJson, readRunRecord, readStepRecords, writeRunRecord, writeStepRecord, type ArtifactStore, type RunRecord, type RunStatus, type StepRecord } from "@orch/core/plugin";
import type { PipelineTaskDetail, Run, RuntimeState } from "./api-types.js";

const TERMINAL: ReadonlySet<RuntimeState> = new Set(["SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"]);

export function isTerminal(state: RuntimeState | undefined): boolean {
  return state !== undefined && TERMINAL.has(state);
}

/** A KFP run state as an orch run status (CANCELING is still running; PAUSED too, it may resume). */
export function runStatusOf(state: RuntimeState | undefined): RunStatus {
  switch (state) {
    case "SUCCEEDED":
      return "succeeded";
    case "FAILED":
    case "SKIPPED":
      return "failed";
    case "CANCELED":
      return "stopped";
    default:
      return "running";
  }
}

/** The task details of a step: KFP names a task by its key; orch writes the step id as its display name (taskInfo.name). */
export function taskOf(run: Run, stepId: string, taskName: string): PipelineTaskDetail | undefined {
  const tasks = run.run_details?.task_details ?? [];
  return tasks.find((t) => t.display_name === stepId) ?? tasks.find((t) => t.display_name === taskName);
}

/**
 * Writes the end of a run whose KFP run is over into the journal, unless the journal already has it:
 * steps without a finished record get the task's state (failed with KFP's error, stopped, or skipped),
 * then the run record gets the outcome. Returns the run record.
 */
export async function finalizeRun(store: ArtifactStore, runId: string, run: Run, taskNames: Map<string, string>): Promise<RunRecord | undefined> {
  const current = await readRunRecord(store, runId);
  if (current && current.status !== "running") return current;
  const snapshot = await readJson<{ order?: string[]; steps?: Record<string, { name: string }> }>(store, journalKeys.snapshot(runId));
  const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
  const finishedAt = run.finished_at ?? new Date().toISOString();
  const canceled = run.state === "CANCELED";
  const failures: string[] = [];
  for (const stepId of snapshot?.order ?? []) {
    const record = records.get(stepId);
    if (record && !["pending", "running"].includes(record.status)) {
      if (record.status === "failed") failures.push(stepId);
      continue;
    }
    const task = taskOf(run, stepId, taskNames.get(stepId) ?? stepId);
    const base: StepRecord = record ?? { runId, stepId, name: snapshot?.steps?.[stepId]?.name ?? stepId, status: "pending", attempts: 0, outputs: {}, metadata: {} };
    let next: StepRecord;
    if (task?.state === "FAILED" || (record?.status === "running" && !canceled)) {
      const why = task?.error?.message ?? "its KFP task failed before the step recorded an end (pod deleted, out of memory, deadline, image pull)";
      next = { ...base, status: "failed", finishedAt, error: { code: "E_STEP_FAILED", message: `Step ${stepId}: ${why}` } };
      failures.push(stepId);
    } else if (canceled) {
      next = { ...base, status: "stopped", finishedAt, error: { code: "E_CANCELLED", message: record ? "the run was stopped" : "not run: the run was stopped" } };
    } else {
      next = { ...base, status: "skipped", error: { message: "not run: an upstream step failed" } };
    }
    await writeStepRecord(store, next);
  }
  const status: RunStatus = canceled ? "stopped" : run.state === "SUCCEEDED" && failures.length === 0 ? "succeeded" : "failed";
  const base: RunRecord = current ?? {
    runId,
    pipeline: run.display_name,
    pipelineHash: "",
    status: "running",
    startedAt: run.created_at ?? finishedAt,
    parameters: {},
  };
  const error =
    status === "stopped"
      ? { code: "E_CANCELLED", message: `Run ${runId} was stopped (KFP run ${run.run_id} ${run.state}).` }
      : status === "failed"
        ? { code: "E_STEP_FAILED", message: failures.length ? `Step${failures.length > 1 ? "s" : ""} ${failures.join(", ")} failed.` : `KFP run ${run.run_id} ended ${run.state}${run.error?.message ? `: ${run.error.message}` : ""}.` }
        : undefined;
  const final: RunRecord = { ...base, status, finishedAt, orchestrator: "kubeflow", ...(error ? { error } : {}) };
  await writeRunRecord(store, final);
  return final;
}
