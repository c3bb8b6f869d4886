import { OrchError } from "../errors.js";
import { sha256 } from "../hash.js";
import { newArtifactId } from "../ids.js";
import { openReadStream, writeFromStream, type ArtifactStore } from "../store/artifact-store.js";
import { ArtifactMetaSchema, journalKeys, readRecord, readStepRecords, type ArtifactMeta, type OutputRecord } from "../store/journal.js";
import { describeType, materializerById, pickMaterializer, type Materializer } from "./materializers.js";
import { NotBytesError, StreamedArtifact, StreamMeasure, type ByteSource } from "./streamed.js";

/**
 * Saves one step output as one object, `artifacts/<artifactId>`, and returns its output record —
 * materializer, size, content hash and type — which the caller puts in the step record. The step record
 * is what makes the artifact part of a run: until it is written nothing refers to the new id, so a
 * crash mid-write leaves only an object nothing reads.
 */
export async function saveArtifact(
  store: ArtifactStore,
  value: unknown,
  where: { runId: string; stepId: string; output: string },
  /** The materializer already picked for `value` (saves walking a large value twice). */
  picked?: Materializer,
): Promise<OutputRecord> {
  const materializer = picked ?? pickMaterializer(value, where);
  if (materializer.saveStream) return saveStreamedArtifact(store, value, where, materializer);
  let data: Uint8Array | string;
  try {
    data = await materializer.save!(value);
  } catch (cause) {
    throw new OrchError("E_MATERIALIZER", {
      step: where.stepId,
      message: `Step "${where.stepId}" output "${where.output}": materializer "${materializer.id}" failed to save it: ${(cause as Error)?.message ?? cause}`,
      hint: "Fix the materializer's save() or return a value it supports.",
      cause,
    });
  }
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const artifactId = newArtifactId();
  await store.write(journalKeys.artifactData(artifactId), bytes, { atomic: false });
  return { artifactId, materializer: materializer.id, contentHash: sha256(bytes), size: bytes.byteLength, type: describeType(value) };
}

/**
 * The streaming save: the materializer's bytes go to the store's atomic `writeStream` while their
 * size and sha256 are computed on the way, so a 2 GB value never sits in memory. A failing source
 * leaves nothing (the store discards the partial write).
 */
async function saveStreamedArtifact(store: ArtifactStore, value: unknown, where: { runId: string; stepId: string; output: string }, materializer: Materializer): Promise<OutputRecord> {
  const artifactId = newArtifactId();
  const dataKey = journalKeys.artifactData(artifactId);
  const measure = new StreamMeasure();
  try {
    const source: ByteSource = await materializer.saveStream!(value);
    await writeFromStream(store, dataKey, measure.pass(source));
  } catch (cause) {
    // The store's writeStream already left nothing under the key; this is for stores that do not promise it.
    await store.delete(dataKey).catch(() => {});
    // A source that fails (a read error, a lost connection) may work on a retry; non-bytes never will.
    throw new OrchError(cause instanceof NotBytesError ? "E_MATERIALIZER" : "E_ARTIFACT_STREAM", {
      step: where.stepId,
      message: `Step "${where.stepId}" output "${where.output}": streaming it into the artifact store at ${store.uri} with materializer "${materializer.id}" failed: ${(cause as Error)?.message ?? cause}`,
      hint: "Fix the source of the stream (the file, the Readable or the async iterable the step returned); nothing was stored for this output.",
      cause,
    });
  }
  return { artifactId, materializer: materializer.id, contentHash: measure.digest(), size: measure.size, type: describeType(value) };
}

/** Size and sha256 of the bytes under `key`, read as a stream (bounded memory whatever the size). */
async function hashStored(store: ArtifactStore, key: string): Promise<{ size: number; contentHash: string } | undefined> {
  const source = await openReadStream(store, key);
  if (!source) return undefined;
  const measure = new StreamMeasure();
  for await (const _ of measure.pass(source));
  return { size: measure.size, contentHash: measure.digest() };
}

/**
 * Where an artifact's data is: the flat key, or the folder layout of stores written before it.
 * The flat key is tried first; the second look happens only for old artifacts (or missing ones).
 */
async function locateData<T>(store: ArtifactStore, artifactId: string, probe: (key: string) => Promise<T | undefined>): Promise<{ key: string; found: T } | undefined> {
  for (const key of [journalKeys.artifactData(artifactId), journalKeys.legacyArtifactData(artifactId)]) {
    const found = await probe(key);
    if (found !== undefined) return { key, found };
  }
  return undefined;
}

/**
 * Everything known about one artifact, from the step record that produced it (newest runs first), or
 * from the meta.json of stores written before the flat layout. A lookup by id alone reads the journal;
 * code that has the step record should use its output record (`loadOutput`) instead.
 */
export async function readArtifactMeta(store: ArtifactStore, artifactId: string): Promise<ArtifactMeta | undefined> {
  const legacy = await readRecord(store, ArtifactMetaSchema, journalKeys.legacyArtifactMeta(artifactId)).catch(() => undefined);
  if (legacy) return legacy;
  // Step records of every run, newest run first (run ids sort by start time). Any run with step records
  // counts, also one without run.json (steps run one by one with `orch-entrypoint step`).
  const runIds = [...new Set((await store.list(journalKeys.runsPrefix)).map((key) => /^runs\/([^/]+)\/steps[/.]/.exec(key)?.[1]).filter((id) => id !== undefined))].sort().reverse();
  for (const runId of runIds) {
    for (const record of await readStepRecords(store, runId).catch(() => [])) {
      if (record.cachedFrom !== undefined) continue; // a cached step reuses another run's artifact
      for (const [output, saved] of Object.entries(record.outputs)) {
        if (saved.artifactId !== artifactId) continue;
        return {
          artifactId,
          materializer: saved.materializer,
          contentHash: saved.contentHash,
          size: saved.size ?? (await store.size?.(journalKeys.artifactData(artifactId))) ?? 0,
          runId: record.runId,
          stepId: record.stepId,
          output,
          createdAt: record.finishedAt ?? record.startedAt ?? "",
          type: saved.type ?? "unknown",
        };
      }
    }
  }
  return undefined;
}

/**
 * Artifacts up to this size are hashed whenever they are checked; larger ones only have their size
 * compared, unless `ORCH_VERIFY_ARTIFACTS=hash` (always hash) or `=size` (never hash).
 */
export const HASH_CHECK_LIMIT = 16 * 1024 * 1024;

function shouldHash(size: number): boolean {
  const mode = process.env.ORCH_VERIFY_ARTIFACTS;
  if (mode === "hash") return true;
  if (mode === "size") return false;
  return size <= HASH_CHECK_LIMIT;
}

/** What an artifact's bytes must be, as recorded when it was saved. */
interface SavedFacts {
  materializer: string;
  size: number | undefined;
  contentHash: string | undefined;
}

/**
 * The facts to check an output against: its output record, which has them all since the compact
 * layout; older records are completed from the artifact's legacy meta.json.
 */
async function savedFacts(
  store: ArtifactStore,
  artifactId: string,
  recorded: Partial<Pick<OutputRecord, "materializer" | "size" | "contentHash">>,
  /** Search the journal when the store has no meta.json for it (a load by id alone). */
  searchJournal: boolean,
): Promise<SavedFacts | undefined> {
  if (recorded.materializer !== undefined && recorded.size !== undefined && recorded.contentHash !== undefined) {
    return { materializer: recorded.materializer, size: recorded.size, contentHash: recorded.contentHash };
  }
  const meta = searchJournal
      ? await readArtifactMeta(store, artifactId).catch(() => undefined)
      : await readRecord(store, ArtifactMetaSchema, journalKeys.legacyArtifactMeta(artifactId)).catch(() => undefined);
  const materializer = recorded.materializer ?? meta?.materializer;
  if (materializer === undefined) return undefined;
  return { materializer, size: recorded.size ?? meta?.size, contentHash: recorded.contentHash ?? meta?.contentHash };
}

/** Why the bytes of an artifact are not the ones that were saved, or undefined when they are. */
function dataProblem(data: Uint8Array, facts: SavedFacts): string | undefined {
  if (facts.size !== undefined && data.byteLength !== facts.size) return `its data is ${data.byteLength} bytes, but ${facts.size} were saved (truncated or replaced)`;
  if (facts.contentHash && shouldHash(data.byteLength) && sha256(data) !== facts.contentHash) return "its data does not match the content hash recorded when it was saved (changed on disk)";
  return undefined;
}

export type ArtifactCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks, without loading it, that an output's artifact is still the one that was saved: the data is
 * present, the size matches, and the content hash matches where affordable (see HASH_CHECK_LIMIT).
 * Cache hits and resumed runs reuse an output only when this says ok.
 */
export async function checkArtifact(store: ArtifactStore, output: Pick<OutputRecord, "artifactId" | "contentHash"> & Partial<Pick<OutputRecord, "materializer" | "size">>): Promise<ArtifactCheck> {
  try {
    return await checkArtifactOrThrow(store, output);
  } catch (error) {
    // Unreadable (a folder where the data should be, no permission …) counts as damaged, not as a crash.
    return { ok: false, reason: `artifact ${output.artifactId} cannot be read: ${(error as Error)?.message ?? String(error)}` };
  }
}

async function checkArtifactOrThrow(store: ArtifactStore, output: Pick<OutputRecord, "artifactId" | "contentHash"> & Partial<Pick<OutputRecord, "materializer" | "size">>): Promise<ArtifactCheck> {
  const id = output.artifactId;
  const missing: ArtifactCheck = { ok: false, reason: `artifact ${id} is missing from the artifact store` };
  // A check needs no materializer: a record without one (older than the compact layout) is still checked.
  const facts = await savedFacts(store, id, { materializer: output.materializer ?? "unknown", contentHash: output.contentHash, ...(output.size === undefined ? {} : { size: output.size }) }, false);
  if (!facts) return missing;
  const damaged = (problem: string | undefined): ArtifactCheck => (problem ? { ok: false, reason: `artifact ${id}: ${problem}` } : { ok: true });
  if (facts.size !== undefined && !shouldHash(facts.size) && store.size) {
    const located = await locateData(store, id, (key) => store.size!(key));
    if (!located) return missing;
    return damaged(located.found !== facts.size ? `its data is ${located.found} bytes, but ${facts.size} were saved (truncated or replaced)` : undefined);
  }
  if (facts.size === undefined || facts.size > HASH_CHECK_LIMIT) {
    // Large (or of unknown size): hashed as a stream, never held in memory.
    const located = await locateData(store, id, (key) => hashStored(store, key));
    if (!located) return missing;
    const { size, contentHash } = located.found;
    return damaged(
      facts.size !== undefined && size !== facts.size
        ? `its data is ${size} bytes, but ${facts.size} were saved (truncated or replaced)`
        : shouldHash(size) && facts.contentHash && contentHash !== facts.contentHash
          ? "its data does not match the content hash recorded when it was saved (changed on disk)"
          : undefined,
    );
  }
  const located = await locateData(store, id, (key) => store.read(key));
  if (!located) return missing;
  return damaged(dataProblem(located.found, facts));
}

function notFound(store: ArtifactStore, artifactId: string): OrchError {
  return new OrchError("E_ARTIFACT_NOT_FOUND", {
    message: `Artifact ${artifactId} is not in the artifact store at ${store.uri}.`,
    hint: "It may have been deleted; re-run the step that produced it (caching and `orch run resume` recompute missing artifacts).",
  });
}

function corrupt(store: ArtifactStore, artifactId: string, problem: string): OrchError {
  return new OrchError("E_ARTIFACT_CORRUPT", {
    message: `Artifact ${artifactId} in the artifact store at ${store.uri} cannot be trusted: ${problem}.`,
    hint: "Re-run the step that produced it (caching and `orch run resume` recompute damaged artifacts).",
  });
}

/**
 * Loads an artifact through its materializer, after checking its bytes (size always, content hash up
 * to HASH_CHECK_LIMIT) against what was recorded when it was saved. Given only an id, the journal is
 * searched for the step record that produced it; pass the output record's fields (or use
 * `loadOutput`) to read nothing but the data.
 */
export async function loadArtifact<T = unknown>(store: ArtifactStore, artifactId: string, materializerId?: string, expected: { contentHash?: string; size?: number | undefined } = {}): Promise<T> {
  const facts = await savedFacts(store, artifactId, { ...(materializerId === undefined ? {} : { materializer: materializerId }), ...defined(expected) }, materializerId === undefined);
  if (!facts) throw notFound(store, artifactId);
  const materializer = registeredMaterializer(artifactId, facts.materializer);
  // Streaming materializers are known before any data is read (a 2 GB artifact is never read whole).
  if (materializer.loadStream) return loadStreamedArtifact<T>(store, artifactId, materializer, facts);
  const located = await locateData(store, artifactId, (key) => store.read(key));
  if (!located) throw notFound(store, artifactId);
  const problem = dataProblem(located.found, facts);
  if (problem) throw corrupt(store, artifactId, problem);
  return (await materializer.load!(located.found)) as T;
}

function defined(expected: { contentHash?: string; size?: number | undefined }): Partial<Pick<OutputRecord, "size" | "contentHash">> {
  return { ...(expected.contentHash === undefined ? {} : { contentHash: expected.contentHash }), ...(expected.size === undefined ? {} : { size: expected.size }) };
}

function registeredMaterializer(artifactId: string, id: string): Materializer {
  const materializer = materializerById(id);
  if (!materializer) {
    throw new OrchError("E_MATERIALIZER", {
      message: `Artifact ${artifactId} was saved by materializer "${id}", which is not registered in this process.`,
      hint: `Import the module that calls registerMaterializer() for "${id}" before loading the artifact.`,
    });
  }
  return materializer;
}

/**
 * The streaming load: checks the stored size without reading the data, then hands the materializer a
 * {@link StreamedArtifact}, whose streams check size and content hash as they are read.
 */
async function loadStreamedArtifact<T>(store: ArtifactStore, artifactId: string, materializer: Materializer, facts: SavedFacts): Promise<T> {
  const located = await locateData(store, artifactId, (key) => (store.size ? store.size(key) : store.exists(key).then((found) => (found ? -1 : undefined))));
  if (!located) throw notFound(store, artifactId);
  const size = located.found;
  if (facts.size !== undefined && size >= 0 && size !== facts.size) throw corrupt(store, artifactId, `its data is ${size} bytes, but ${facts.size} were saved (truncated or replaced)`);
  const verifyHash = process.env.ORCH_VERIFY_ARTIFACTS !== "size";
  const artifact = new StreamedArtifact(store, located.key, artifactId, facts.size, facts.contentHash, verifyHash);
  return (await materializer.loadStream!(artifact)) as T;
}

/** Loads a step output recorded in a step record, checked against the record's size and content hash. */
export function loadOutput<T = unknown>(store: ArtifactStore, output: OutputRecord): Promise<T> {
  return loadArtifact<T>(store, output.artifactId, output.materializer, { contentHash: output.contentHash, size: output.size });
}
