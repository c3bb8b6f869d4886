import type { z } from "zod";
import { readJson, writeJson, type ArtifactStore } from "./artifact-store.js";
import { parseJournalRecord, RunRecordSchema, StepRecordSchema, type RunRecord, type StepRecord, type StepStatus } from "./journal-records.js";

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
  /**
   * An artifact's data: one flat object per artifact. What it is (materializer, size, content hash,
   * type) is in the output record of the step record that produced it, so there is no meta.json.
   */
  artifactData: (artifactId: string) => `artifacts/${artifactId}`,
  /** Stores written before the flat layout keep data and meta.json in a folder per artifact; read only. */
  legacyArtifactData: (artifactId: string) => `artifacts/${artifactId}/data`,
  legacyArtifactMeta: (artifactId: string) => `artifacts/${artifactId}/meta.json`,
  cache: (cacheKey: string) => `cache/${cacheKey}.json`,
};

export {
  RunStatusSchema,
  StepStatusSchema,
  ErrorRecordSchema,
  OutputRecordSchema,
  RunRecordSchema,
  StepRecordSchema,
  ArtifactMetaSchema,
  CacheEntrySchema,
  parseJournalRecord,
  type RunStatus,
  type StepStatus,
  type OutputRecord,
  type RunRecord,
  type StepRecord,
  type ArtifactMeta,
  type CacheEntry,
} from "./journal-records.js";

export const FINISHED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(["succeeded", "cached", "failed", "skipped", "stopped"]);
/** Statuses whose outputs exist: a resumed run reuses them. */
export const COMPLETED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set(["succeeded", "cached"]);

/**
 * Reads and validates one journal record; `undefined` when there is none. Records are compact JSON
 * (one line, no pretty-printing: they are written on the hot path and read by programs).
 */
export async function readRecord<T>(store: ArtifactStore, schema: z.ZodType<T>, key: string): Promise<T | undefined> {
  const value = await readJson<unknown>(store, key);
  return value === undefined ? undefined : parseJournalRecord(schema, value, key, store.uri);
}

export const readRunRecord = (store: ArtifactStore, runId: string) => readRecord(store, RunRecordSchema, journalKeys.run(runId));
export const writeRunRecord = (store: ArtifactStore, record: RunRecord) => writeJson(store, journalKeys.run(record.runId), record);
export const readStepRecord = (store: ArtifactStore, runId: string, stepId: string) =>
  readRecord(store, StepRecordSchema, journalKeys.step(runId, stepId));
export const writeStepRecord = (store: ArtifactStore, record: StepRecord) =>
  writeJson(store, journalKeys.step(record.runId, record.stepId), record);

export async function readStepRecords(store: ArtifactStore, runId: string): Promise<StepRecord[]> {
  const keys = await store.list(journalKeys.stepsPrefix(runId));
  const records = await Promise.all(keys.filter((k) => k.endsWith(".json")).map((k) => readRecord(store, StepRecordSchema, k)));
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
