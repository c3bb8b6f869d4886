/**
 * The start and finish tasks of every orch job (`orch-databricks-run start|finish`). Steps run as
 * independent Databricks tasks, so no orch process drives the run: the start task records it (and, for
 * a run the job's schedule started, copies the schedule's snapshot to the run; a submitted run was
 * recorded by the submitting process), the finish task
 * (`run_if: ALL_DONE`) records its outcome from the step records once every step task has ended.
 */
import { FINISHED_STEP_STATUSES, OrchError, journalKeys, parseSnapshot, readJson, readRunRecord, readStepRecords, readStopRequest, serializeSnapshot, writeRunRecord, writeStepRecord, type ArtifactStore, type RunRecord, type StepRecord } from "@orch/core/plugin";

export const scheduleSnapshotKey = (job: string) => `schedules/${job}/snapshot.json`;

/** Records the run as running; a scheduled run first gets the schedule's snapshot. Idempotent (a retried start task). */
export async function startRun(store: ArtifactStore, runId: string, job: string, log: (line: string) => void): Promise<RunRecord> {
  let raw = await readJson(store, journalKeys.snapshot(runId));
  if (raw === undefined) {
    raw = await readJson(store, scheduleSnapshotKey(job));
    if (raw === undefined) {
      throw new OrchError("E_RUN_NOT_FOUND", {
        message: `Run ${runId} has no snapshot in the artifact store at ${store.uri}, and job ${job} has no schedule snapshot there.`,
        hint: "Start runs with orch pipeline run (it stores the snapshot), or create the schedule again with orch schedule create.",
      });
    }
    await store.write(journalKeys.snapshot(runId), serializeSnapshot(parseSnapshot(raw, `schedule ${job}`)));
    log(`scheduled run ${runId}: snapshot copied from ${scheduleSnapshotKey(job)}`);
  }
  const snapshot = parseSnapshot(raw, `run ${runId}`);
  const existing = await readRunRecord(store, runId);
  if (existing) return existing;
  const run: RunRecord = {
    runId,
    pipeline: snapshot.pipeline.name,
    pipelineHash: snapshot.pipeline.hash,
    status: "running",
    startedAt: new Date().toISOString(),
    orchestrator: "databricks",
    parameters: snapshot.parameters,
  };
  await writeRunRecord(store, run);
  log(`run ${runId} of ${snapshot.pipeline.name}: started`);
  return run;
}

/**
 * Records the run's outcome: steps without a final record did not run (an upstream step failed, or the
 * run was stopped) and are recorded so; the run succeeded when every step succeeded or was cached.
 */
export async function finishRun(store: ArtifactStore, runId: string, log: (line: string) => void): Promise<RunRecord> {
  const snapshot = parseSnapshot((await readJson(store, journalKeys.snapshot(runId))) ?? {}, `run ${runId}`);
  const run = (await readRunRecord(store, runId)) ?? (await startRun(store, runId, "", log));
  if (run.status !== "running") return run;
  const stopped = Boolean(await readStopRequest(store, runId));
  const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
  const finishedAt = new Date().toISOString();
  for (const stepId of snapshot.order) {
    const record = records.get(stepId);
    if (record && FINISHED_STEP_STATUSES.has(record.status)) continue;
    const failedUpstream = snapshot.steps[stepId]!.upstream.filter((id) => !["succeeded", "cached"].includes(records.get(id)?.status ?? ""));
    const ended: StepRecord = {
      ...(record ?? { runId, stepId, name: snapshot.steps[stepId]!.name, attempts: 0, outputs: {}, metadata: {} }),
      status: stopped ? "stopped" : record ? "failed" : "skipped",
      finishedAt,
      error: {
        message: stopped
          ? "not run: the run was stopped"
          : record
            ? "the task ended without recording the step's end (its process or cluster died)"
            : `not run: upstream step ${failedUpstream.map((id) => `"${id}"`).join(", ")} did not succeed`,
      },
    };
    records.set(stepId, ended);
    await writeStepRecord(store, ended);
  }
  const failed = snapshot.order.map((id) => records.get(id)!).filter((r) => r.status !== "succeeded" && r.status !== "cached");
  const firstFailure = failed.find((r) => r.status === "failed") ?? failed[0];
  const status = stopped ? "stopped" : failed.length ? "failed" : "succeeded";
  const final: RunRecord = {
    ...run,
    status,
    finishedAt,
    ...(status === "succeeded" ? {} : { error: { code: stopped ? "E_CANCELLED" : "E_STEP_FAILED", message: stopped ? `Run ${runId} was stopped.` : `Step "${firstFailure!.stepId}" ${firstFailure!.status}: ${firstFailure!.error?.message ?? ""}`.trim() } }),
  };
  await writeRunRecord(store, final);
  log(`run ${runId}: ${status}`);
  return final;
}
