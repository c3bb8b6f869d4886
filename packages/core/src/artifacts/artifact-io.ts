import { OrchError } from "../errors.js";
import { sha256 } from "../hash.js";
import { newArtifactId } from "../ids.js";
import { openReadStream, readJson, writeFromStream, writeJson, type ArtifactStore } from "../store/artifact-store.js";
import { ArtifactMetaSchema, journalKeys, readRecord, type ArtifactMeta, type OutputRecord } from "../store/journal.js";
import { describeType, materializerById, pickMaterializer, type Materializer } from "./materializers.js";
import { NotBytesError, StreamedArtifact, StreamMeasure, type ByteSource } from "./streamed.js";

/** Saves one step output: data first, then meta.json, whose presence marks the artifact complete. */
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
  await store.write(journalKeys.artifactData(artifactId), bytes);
  return writeArtifactMeta(store, { artifactId, materializer, contentHash: sha256(bytes), size: bytes.byteLength, value, where });
}

/** Writes meta.json — after the data, so its presence means the artifact is whole — and the output record. */
async function writeArtifactMeta(
  store: ArtifactStore,
  saved: { artifactId: string; materializer: Materializer; contentHash: string; size: number; value: unknown; where: { runId: string; stepId: string; output: string } },
): Promise<OutputRecord> {
  const { artifactId, materializer, contentHash, where } = saved;
  const meta: ArtifactMeta = {
    artifactId,
    materializer: materializer.id,
    contentHash,
    size: saved.size,
    runId: where.runId,
    stepId: where.stepId,
    output: where.output,
    createdAt: new Date().toISOString(),
    type: describeType(saved.value),
  };
  await writeJson(store, journalKeys.artifactMeta(artifactId), meta);
  // Size and type travel in the step record too, so loading an output reads only its data.
  return { artifactId, materializer: materializer.id, contentHash, size: meta.size, type: meta.type };
}

/**
 * The streaming save: the materializer's bytes go to the store's atomic `writeStream` while their
 * size and sha256 are computed on the way, so a 2 GB value never sits in memory. meta.json is written
 * only after the data is complete; a failing source leaves neither (the store discards the partial write).
 */
async function saveStreamedArtifact(store: ArtifactStore, value: unknown, where: { runId: string; stepId: string; output: string }, materializer: Materializer): Promise<OutputRecord> {
  const artifactId = newArtifactId();
  const dataKey = journalKeys.artifactData(artifactId);
  const measure = new StreamMeasure();
  try {
    const source: ByteSource = await materializer.saveStream!(value);
    await writeFromStream(store, dataKey, measure.pass(source));
  } catch (cause) {
    // The store's writeStream already left nothing under the key; this removes the artifact folder too.
    await store.delete(`artifacts/${artifactId}/`).catch(() => {});
    // A source that fails (a read error, a lost connection) may work on a retry; non-bytes never will.
    throw new OrchError(cause instanceof NotBytesError ? "E_MATERIALIZER" : "E_ARTIFACT_STREAM", {
      step: where.stepId,
      message: `Step "${where.stepId}" output "${where.output}": streaming it into the artifact store at ${store.uri} with materializer "${materializer.id}" failed: ${(cause as Error)?.message ?? cause}`,
      hint: "Fix the source of the stream (the file, the Readable or the async iterable the step returned); nothing was stored for this output.",
      cause,
    });
  }
  return writeArtifactMeta(store, { artifactId, materializer, contentHash: measure.digest(), size: measure.size, value, where });
}

/** Size and sha256 of the bytes under `key`, read as a stream (bounded memory whatever the size). */
async function hashStored(store: ArtifactStore, key: string): Promise<{ size: number; contentHash: string } | undefined> {
  const source = await openReadStream(store, key);
  if (!source) return undefined;
  const measure = new StreamMeasure();
  for await (const _ of measure.pass(source));
  return { size: measure.size, contentHash: measure.digest() };
}

export async function readArtifactMeta(store: ArtifactStore, artifactId: string): Promise<ArtifactMeta | undefined> {
  return readRecord(store, ArtifactMetaSchema, journalKeys.artifactMeta(artifactId));
}

/** True when the artifact's data and meta are both still in the store. */
export async function artifactExists(store: ArtifactStore, artifactId: string): Promise<boolean> {
  const [meta, data] = await Promise.all([
    store.exists(journalKeys.artifactMeta(artifactId)),
    store.exists(journalKeys.artifactData(artifactId)),
  ]);
  return meta && data;
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

/** Why the bytes of an artifact are not the ones that were saved, or undefined when they are. */
function dataProblem(data: Uint8Array, meta: Pick<ArtifactMeta, "size" | "contentHash"> | undefined, contentHash: string | undefined): string | undefined {
  if (meta && data.byteLength !== meta.size) return `its data is ${data.byteLength} bytes, but ${meta.size} were saved (truncated or replaced)`;
  if (meta && contentHash && meta.contentHash !== contentHash) return "its meta.json records another content hash than the step that produced it";
  const expected = contentHash ?? meta?.contentHash;
  if (expected && shouldHash(data.byteLength) && sha256(data) !== expected) return "its data does not match the content hash recorded when it was saved (changed on disk)";
  return undefined;
}

export type ArtifactCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks, without loading it, that an output's artifact is still the one that was saved: meta and
 * data present, the size matches, and the content hash matches where affordable (see
 * HASH_CHECK_LIMIT). Cache hits and resumed runs reuse an output only when this says ok.
 */
export async function checkArtifact(store: ArtifactStore, output: Pick<OutputRecord, "artifactId" | "contentHash">): Promise<ArtifactCheck> {
  try {
    return await checkArtifactOrThrow(store, output);
  } catch (error) {
    // Unreadable (a folder where the data should be, no permission …) counts as damaged, not as a crash.
    return { ok: false, reason: `artifact ${output.artifactId} cannot be read: ${(error as Error)?.message ?? String(error)}` };
  }
}

async function checkArtifactOrThrow(store: ArtifactStore, output: Pick<OutputRecord, "artifactId" | "contentHash">): Promise<ArtifactCheck> {
  const meta = await readArtifactMeta(store, output.artifactId).catch(() => undefined);
  if (!meta) return { ok: false, reason: `artifact ${output.artifactId} is missing from the artifact store` };
  const dataKey = journalKeys.artifactData(output.artifactId);
  if (store.size && !shouldHash(meta.size)) {
    const size = await store.size(dataKey);
    if (size === undefined) return { ok: false, reason: `the data of artifact ${output.artifactId} is missing from the artifact store` };
    if (size !== meta.size) return { ok: false, reason: `artifact ${output.artifactId}: its data is ${size} bytes, but ${meta.size} were saved (truncated or replaced)` };
    if (meta.contentHash !== output.contentHash) return { ok: false, reason: `artifact ${output.artifactId}: its meta.json records another content hash than the step that produced it` };
    return { ok: true };
  }
  if (meta.size > HASH_CHECK_LIMIT) {
    // Large data (ORCH_VERIFY_ARTIFACTS=hash, or a store without size()) is hashed as a stream.
    const stored = await hashStored(store, dataKey);
    if (!stored) return { ok: false, reason: `the data of artifact ${output.artifactId} is missing from the artifact store` };
    const problem =
      stored.size !== meta.size
        ? `its data is ${stored.size} bytes, but ${meta.size} were saved (truncated or replaced)`
        : meta.contentHash !== output.contentHash
          ? "its meta.json records another content hash than the step that produced it"
          : shouldHash(meta.size) && stored.contentHash !== meta.contentHash
            ? "its data does not match the content hash recorded when it was saved (changed on disk)"
            : undefined;
    return problem ? { ok: false, reason: `artifact ${output.artifactId}: ${problem}` } : { ok: true };
  }
  const data = await store.read(dataKey);
  if (!data) return { ok: false, reason: `the data of artifact ${output.artifactId} is missing from the artifact store` };
  const problem = dataProblem(data, meta, output.contentHash);
  return problem ? { ok: false, reason: `artifact ${output.artifactId}: ${problem}` } : { ok: true };
}

/**
 * Loads an artifact through its materializer, after checking its bytes (size always, content hash
 * up to HASH_CHECK_LIMIT) against `contentHash` (from the step record) or, without it, meta.json.
 */
export async function loadArtifact<T = unknown>(store: ArtifactStore, artifactId: string, materializerId?: string, expected: { contentHash?: string; size?: number | undefined } = {}): Promise<T> {
  // Streaming materializers are known before any data is read (a 2 GB artifact is never read whole).
  const knownId = materializerId ?? (await readArtifactMeta(store, artifactId).catch(() => undefined))?.materializer;
  const streaming = knownId === undefined ? undefined : materializerById(knownId);
  if (streaming?.loadStream) return loadStreamedArtifact<T>(store, artifactId, streaming, expected);
  // An output record that carries the size and hash (written since the compact journal layout) has
  // everything meta.json would add: only the data is read.
  const known = materializerId !== undefined && expected.size !== undefined && expected.contentHash !== undefined;
  const [meta, data] = await Promise.all([
    known ? { size: expected.size!, contentHash: expected.contentHash!, materializer: materializerId } : readArtifactMeta(store, artifactId).catch(() => undefined),
    store.read(journalKeys.artifactData(artifactId)),
  ]);
  const id = materializerId ?? meta?.materializer;
  if (id === undefined || data === undefined) {
    throw new OrchError("E_ARTIFACT_NOT_FOUND", {
      message: `Artifact ${artifactId} is not in the artifact store at ${store.uri}.`,
      hint: "It may have been deleted; re-run the step that produced it (caching and `orch run resume` recompute missing artifacts).",
    });
  }
  const problem = dataProblem(data, meta, expected.contentHash);
  if (problem) {
    throw new OrchError("E_ARTIFACT_CORRUPT", {
      message: `Artifact ${artifactId} in the artifact store at ${store.uri} cannot be trusted: ${problem}.`,
      hint: "Re-run the step that produced it (caching and `orch run resume` recompute damaged artifacts).",
    });
  }
  const materializer = registeredMaterializer(artifactId, id);
  if (materializer.loadStream) return loadStreamedArtifact<T>(store, artifactId, materializer, expected);
  return (await materializer.load!(data)) as T;
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
 * The streaming load: checks meta and the stored size without reading the data, then hands the
 * materializer a {@link StreamedArtifact}, whose streams check size and content hash as they are read.
 */
async function loadStreamedArtifact<T>(store: ArtifactStore, artifactId: string, materializer: Materializer, expected: { contentHash?: string }): Promise<T> {
  const dataKey = journalKeys.artifactData(artifactId);
  const [meta, size] = await Promise.all([
    readArtifactMeta(store, artifactId).catch(() => undefined),
    store.size ? store.size(dataKey) : store.exists(dataKey).then((found) => (found ? -1 : undefined)),
  ]);
  if (size === undefined) {
    throw new OrchError("E_ARTIFACT_NOT_FOUND", {
      message: `Artifact ${artifactId} is not in the artifact store at ${store.uri}.`,
      hint: "It may have been deleted; re-run the step that produced it (caching and `orch run resume` recompute missing artifacts).",
    });
  }
  const problem =
    meta && size >= 0 && size !== meta.size
      ? `its data is ${size} bytes, but ${meta.size} were saved (truncated or replaced)`
      : meta && expected.contentHash && meta.contentHash !== expected.contentHash
        ? "its meta.json records another content hash than the step that produced it"
        : undefined;
  if (problem) {
    throw new OrchError("E_ARTIFACT_CORRUPT", {
      message: `Artifact ${artifactId} in the artifact store at ${store.uri} cannot be trusted: ${problem}.`,
      hint: "Re-run the step that produced it (caching and `orch run resume` recompute damaged artifacts).",
    });
  }
  const verifyHash = process.env.ORCH_VERIFY_ARTIFACTS !== "size";
  const artifact = new StreamedArtifact(store, dataKey, artifactId, meta?.size, expected.contentHash ?? meta?.contentHash, verifyHash);
  return (await materializer.loadStream!(artifact)) as T;
}

/** Loads a step output recorded in a step record, checked against the record's content hash. */
export function loadOutput<T = unknown>(store: ArtifactStore, output: OutputRecord): Promise<T> {
  return loadArtifact<T>(store, output.artifactId, output.materializer, { contentHash: output.contentHash, size: output.size });
}
