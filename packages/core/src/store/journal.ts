import type { z } from "zod";
import { readJson, writeJson, type ArtifactStore } from "./artifact-store.js";
import { completeJournalLines, journalLine, parseJournalLine, parseStepJournalLine, stepJournalLine } from "./step-journal-format.js";
import { CacheEntrySchema, parseJournalRecord, RunRecordSchema, StepRecordSchema, type CacheEntry, type RunRecord, type StepRecord, type StepStatus } from "./journal-records.js";

/** How many files the cache journal is spread over (see journalKeys.cacheJournal). */
const CACHE_JOURNALS = 64;

/** Where everything lives in an artifact store (docs/architecture.md). The only place these paths are spelled. */
export const journalKeys = {
  snapshot: (runId: string) => `runs/${runId}/snapshot.json`,
  run: (runId: string) => `runs/${runId}/run.json`,
  /** The lock of the process that owns (drives) the run right now; see run/run-owner.ts. */
  owner: (runId: string) => `runs/${runId}/owner.lock`,
  /** One object per step record: the layout of stores without atomic appends (object stores). */
  step: (runId: string, stepId: string) => `runs/${runId}/steps/${stepId}.json`,
  stepsPrefix: (runId: string) => `runs/${runId}/steps/`,
  /**
   * The step journal of stores with atomic appends (the local store): every step record appended as
   * one line of compact JSON; the last line of a step is its record. See {@link writeStepRecord}.
   */
  stepJournal: (runId: string) => `runs/${runId}/steps.jsonl`,
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
  /** One object per cache entry: the layout of stores without atomic appends (object stores). */
  cache: (cacheKey: string) => `cache/${cacheKey}.json`,
  /**
   * The cache journal of stores with atomic appends (the local store): entries appended as lines to one
   * of 64 files, `cache/00.jsonl` … `cache/3f.jsonl`, chosen by the key's first byte (its first two hex
   * characters) modulo 64. Few enough to keep open while a run appends; see {@link writeCacheEntry}.
   */
  cacheJournal: (cacheKey: string) => `cache/${((Number.parseInt(cacheKey.slice(0, 2), 16) || 0) % CACHE_JOURNALS).toString(16).padStart(2, "0")}.jsonl`,
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
/**
 * Writes a step record: appended to the run's step journal where the store appends atomically (one
 * line, no new file: creating a file per record was the largest cost of a 1,000-step local run),
 * else as its own object. A line cut short by a crash mid-write (power loss, a full disk) is skipped
 * by readers; a `kill -9` cannot cut one, as the append is a single write.
 */
export async function writeStepRecord(store: ArtifactStore, record: StepRecord): Promise<void> {
  if (store.atomicAppend && store.append) {
    await store.append(journalKeys.stepJournal(record.runId), stepJournalLine(record));
  } else await writeJson(store, journalKeys.step(record.runId, record.stepId), record);
}

/** One step's record: its last journal line, else its own object; `undefined` when there is none. */
export async function readStepRecord(store: ArtifactStore, runId: string, stepId: string): Promise<StepRecord | undefined> {
  const journaled = store.atomicAppend ? (await readStepJournal(store, runId)).get(stepId) : undefined;
  return journaled ?? readRecord(store, StepRecordSchema, journalKeys.step(runId, stepId));
}

/** Every step record of a run: per-step objects (object stores, older local runs), then the journal's lines, last wins. */
export async function readStepRecords(store: ArtifactStore, runId: string): Promise<StepRecord[]> {
  const keys = await store.list(journalKeys.stepsPrefix(runId));
  const records = await Promise.all(keys.filter((k) => k.endsWith(".json")).map((k) => readRecord(store, StepRecordSchema, k)));
  const byStep = new Map<string, StepRecord>();
  for (const record of records) if (record) byStep.set(record.stepId, record);
  if (store.atomicAppend) for (const [stepId, record] of await readStepJournal(store, runId)) byStep.set(stepId, record);
  return [...byStep.values()];
}

/**
 * The records of a run's step journal by step (the last line of each step wins), parsed once per
 * store and run: a later read parses only the lines appended since, as long as the journal only grew.
 */
async function readStepJournal(store: ArtifactStore, runId: string): Promise<Map<string, StepRecord>> {
  const key = journalKeys.stepJournal(runId);
  const bytes = await store.read(key);
  if (!bytes) return new Map();
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const runs = parsedJournals.get(store) ?? new Map<string, ParsedJournal>();
  parsedJournals.set(store, runs);
  let parsed = runs.get(runId);
  // Not the journal parsed before (deleted and written again): start over.
  if (!parsed || text.byteLength < parsed.length || !text.subarray(0, parsed.head.byteLength).equals(parsed.head)) {
    parsed = { length: 0, lines: 0, head: Buffer.from(text.subarray(0, 64)), records: new Map() };
  }
  // Up to the last complete line: a line being appended right now is read next time.
  const end = Math.max(text.lastIndexOf(0x0a) + 1, parsed.length);
  const records = new Map(parsed.records);
  let lines = parsed.lines;
  for (const line of text.subarray(parsed.length, end).toString("utf8").split("\n")) {
    if (!line) continue;
    lines++;
    const value = parseStepJournalLine(line);
    if (value === undefined) continue;
    const record = parseJournalRecord(StepRecordSchema, value, `${key} (line ${lines})`, store.uri);
    records.set(record.stepId, record);
  }
  // Kept only once every new line parsed: an invalid one is reported again at the next read.
  runs.delete(runId);
  runs.set(runId, { length: end, lines, head: parsed.head, records });
  // The runs read most recently; a dashboard browsing every run does not keep them all.
  if (runs.size > PARSED_JOURNALS_PER_STORE) runs.delete(runs.keys().next().value!);
  return new Map(records);
}

interface ParsedJournal {
  /** Bytes parsed so far (whole lines). */
  length: number;
  lines: number;
  /** The journal's first bytes: a journal deleted and written again does not start with them. */
  head: Buffer;
  records: Map<string, StepRecord>;
}
const PARSED_JOURNALS_PER_STORE = 8;
const parsedJournals = new WeakMap<ArtifactStore, Map<string, ParsedJournal>>();

/**
 * Records which run and step produced the outputs for a cache key: appended to the cache journal where
 * the store appends atomically (no file created per step), else its own object. Either write may be
 * cut short by a crash: such an entry does not parse, which is a cache miss.
 */
export async function writeCacheEntry(store: ArtifactStore, entry: CacheEntry): Promise<void> {
  if (!(store.atomicAppend && store.append)) return writeJson(store, journalKeys.cache(entry.cacheKey), entry, { atomic: false });
  const key = journalKeys.cacheJournal(entry.cacheKey);
  const line = journalLine(entry, "cacheKey");
  const known = knownCacheJournals.get(store)?.get(key);
  await store.append(key, line);
  if (!known) return;
  // The file grew by exactly this line: nobody else appended, so what this process knows of it stays whole.
  const size = await store.size?.(key);
  if (size === known.size + Buffer.byteLength(line)) {
    known.size = size;
    known.entries.set(entry.cacheKey, entry);
  } else knownCacheJournals.get(store)?.delete(key);
}

/**
 * The newest entry for a cache key: its last whole line in the cache journal, else its own object
 * (object stores, entries written before the journal). A journal file is parsed once per process and
 * read again only when its size says someone else appended to it, so a run's lookups cost a `stat`
 * each. `E_JOURNAL_INVALID` for an entry that parses but is not one.
 */
export async function readCacheEntry(store: ArtifactStore, cacheKey: string): Promise<CacheEntry | undefined> {
  if (store.atomicAppend) {
    const key = journalKeys.cacheJournal(cacheKey);
    const journals = knownCacheJournals.get(store) ?? new Map<string, KnownCacheJournal>();
    knownCacheJournals.set(store, journals);
    let known = journals.get(key);
    const size = await store.size?.(key);
    if (!known || size === undefined || size !== known.size) {
      known = await parseCacheJournal(store, key);
      journals.set(key, known);
    }
    const line = known.entries.get(cacheKey);
    if (line) return parseJournalRecord(CacheEntrySchema, line, key, store.uri);
  }
  return readRecord(store, CacheEntrySchema, journalKeys.cache(cacheKey));
}

/** Every entry of one cache journal file (the last whole line of a key wins; lines cut short are passed over). */
async function parseCacheJournal(store: ArtifactStore, key: string): Promise<KnownCacheJournal> {
  const bytes = await store.read(key);
  const entries = new Map<string, unknown>();
  if (!bytes) return { size: 0, entries };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = text.lastIndexOf(0x0a) + 1; // a line being appended right now is read next time
  for (const line of completeJournalLines(text.subarray(0, end).toString("utf8"))) {
    const value = parseJournalLine(line, "cacheKey") as { cacheKey?: unknown } | undefined;
    if (value && typeof value.cacheKey === "string") entries.set(value.cacheKey, value);
  }
  return { size: end, entries };
}

/** What this process read or wrote of a cache journal file: its size then, and its entries by key. */
interface KnownCacheJournal {
  size: number;
  entries: Map<string, unknown>;
}
const knownCacheJournals = new WeakMap<ArtifactStore, Map<string, KnownCacheJournal>>();

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
