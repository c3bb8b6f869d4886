/**
 * Scheduled DAG runs: Airflow's scheduler names them (`scheduled__2026-11-30T02:30:00+00:00`), not orch,
 * so their orch run id is derived from Airflow's, and the schedule's snapshot waits in the artifact
 * store until a run's first task copies it under that id. Pure helpers shared by the runtime and the
 * orch-airflow-scheduled-step bin.
 */
import { RUN_ID_PATTERN, sha256 } from "@orch/core/plugin";

/** Where a schedule's snapshot waits for its DAG runs. */
export const scheduleSnapshotKey = (dagId: string) => `schedules/airflow/${dagId}/snapshot.json`;

/** Which DAG run an orch run is, for runs whose ids differ (scheduled runs). */
export const dagRunKey = (runId: string) => `runs/${runId}/airflow.json`;
export interface DagRunRef {
  dagId: string;
  dagRunId: string;
}

/**
 * The orch run id of an Airflow DAG run id: itself when it is a valid run id (runs orch triggered),
 * else its characters outside [A-Za-z0-9_-] replaced by "-", shortened with a hash when too long.
 * Deterministic, so every task of one DAG run (and every try) finds the same run.
 */
export function orchRunId(dagRunId: string): string {
  if (RUN_ID_PATTERN.test(dagRunId)) return dagRunId;
  const cleaned = dagRunId.replace(/[^A-Za-z0-9_-]/g, "-").replace(/^-+/, "") || "airflow";
  if (cleaned.length <= 63) return cleaned;
  return `${cleaned.slice(0, 50)}-${sha256(dagRunId).slice(0, 12)}`;
}
