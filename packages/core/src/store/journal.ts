import type { ErrorRecord } from "../errors.js";
import { readJson, writeJson, type ArtifactStore } from "./artifact-store.js";

/** Where everything lives in an artifact store (docs/architecture.md). The only place these paths are spelled. */
export const journalKeys = {
  snapshot: (runId: string) => `runs/${runId}/snapshot.json`,
  run: (runId: string) => `runs/${runId}/run.json`,
  /** The lock of the process that owns (drives) the run right now; see run/run-owner.ts. */
  owner: (runId: string) => `runs/${runId}/owner.lock`,
  step: (runId: string, stepId: string) => `runs/${runId}/steps/${stepId}.json`,
  stepsPrefix: (runId: string) => `runs/${runId}/steps/`,
  log: (runId: string, stepId: string) => `runs/${runId}/logs/${stepId}.log`,
  /** Written by `orch run stop` before it ends the run's processes: a SIGTERM without it is a shutdown, not a stop. */
  stopRequest: (runId: string) => `runs/${runId}/stop-requested.json`,
  runsPrefix: "runs/",
  artifactData: (artifactId: string) => `artifacts/${artifactId}/data`,
  artifactMeta: (artifactId: string) => `artifacts/${artifactId}/meta.json`,
  cache: (cacheKey: string) => `cache/${cacheKey}.json`,
};

export type RunStatus = "running" | "succeeded" | "failed" | "stopped";
export type StepStatus = "pending" | "running" | "succeeded" | "cached" | "failed" | "skipped" | "stopped";

export const FINISHED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(["succeeded", "cached", "failed", "skipped", "stopped"]);
/** A step in one of these states produced its outputs; a resumed run reuses them. */
export const COMPLETED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(["succeeded", "cached"]);

/** runs/<runId>/run.json */
export interface RunRecord {
  runId: string;
  pipeline: string;
  pipelineHash: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  stack?: string;
  orchestrator?: string;
  parameters: Record<string, unknown>;
  /** Which process drives the run, so a crashed run can be told apart from a live one. */
  host?: string;
  pid?: number;
  /** Start time of process `pid` (Linux: /proc/<pid>/stat starttime), so a reused pid is not taken for it. */
  pidStartTime?: string;
  error?: ErrorRecord;
  /** Set (with status `failed`) when the process driving the run died before finishing it. */
  interrupted?: boolean;
}

export interface OutputRecord {
  artifactId: string;
  materializer: string;
  contentHash: string;
}

/** runs/<runId>/steps/<stepId>.json */
export interface StepRecord {
  runId: string;
  stepId: string;
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  cacheKey?: string;
  /** For cached steps: the run whose outputs were reused. */
  cachedFrom?: string;
  outputs: Record<string, OutputRecord>;
  metadata: Record<string, unknown>;
  error?: ErrorRecord;
}

/** artifacts/<artifactId>/meta.json — written after the data, so its presence means the artifact is whole. */
export interface ArtifactMeta {
  artifactId: string;
  materializer: string;
  contentHash: string;
  size: number;
  runId: string;
  stepId: string;
  output: string;
  createdAt: string;
  /** A short description of the value's type, for listings. */
  type: string;
}

/** cache/<cacheKey>.json */
export interface CacheEntry {
  cacheKey: string;
  runId: string;
  stepId: string;
  outputs: Record<string, OutputRecord>;
  createdAt: string;
}

export const readRunRecord = (store: ArtifactStore, runId: string) => readJson<RunRecord>(store, journalKeys.run(runId));
export const writeRunRecord = (store: ArtifactStore, record: RunRecord) => writeJson(store, journalKeys.run(record.runId), record);
export const readStepRecord = (store: ArtifactStore, runId: string, stepId: string) =>
  readJson<StepRecord>(store, journalKeys.step(runId, stepId));
export const writeStepRecord = (store: ArtifactStore, record: StepRecord) =>
  writeJson(store, journalKeys.step(record.runId, record.stepId), record);

export async function readStepRecords(store: ArtifactStore, runId: string): Promise<StepRecord[]> {
  const keys = await store.list(journalKeys.stepsPrefix(runId));
  const records = await Promise.all(keys.filter((k) => k.endsWith(".json")).map((k) => readJson<StepRecord>(store, k)));
  return records.filter((r): r is StepRecord => r !== undefined);
}

/** Ids of every run in the store, oldest first (run ids sort by start time). */
export async function listRunIds(store: ArtifactStore): Promise<string[]> {
  const keys = await store.list(journalKeys.runsPrefix);
  const ids = new Set<string>();
  for (const key of keys) {
    const match = /^runs\/([^/]+)\/run\.json$/.exec(key);
    if (match?.[1]) ids.add(match[1]);
  }
  return [...ids].sort();
}
