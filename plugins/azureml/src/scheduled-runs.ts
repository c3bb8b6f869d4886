/**
 * Runs an Azure ML schedule fires: Azure ML names their pipeline jobs, so a run's job is not
 * `orch-<run id>`. The setup node records which job the run is (runs/<id>/azureml.json), and the
 * runtime finds the job there for status, stop and the studio link. Pure keys and readers, shared by
 * the runtime and the orch-azureml-run bin.
 */
import { readJson, type ArtifactStore } from "@orch/core/plugin";
import { pipelineJobName } from "./pipeline-job.js";

/** Where a schedule's snapshot waits for its firings. */
export const scheduleSnapshotKey = (schedule: string) => `schedules/azureml/${schedule}/snapshot.json`;

/** Which Azure ML pipeline job a run is, for runs Azure ML named (scheduled firings). */
export const jobRefKey = (runId: string) => `runs/${runId}/azureml.json`;
export interface JobRef {
  jobName: string;
}

/** The pipeline job of a run: the one its setup node recorded, else the one orch named at submit. */
export async function jobNameOf(store: ArtifactStore, runId: string): Promise<string> {
  const ref = await readJson<JobRef>(store, jobRefKey(runId));
  return ref?.jobName ?? pipelineJobName(runId);
}
