import { OrchError } from "../errors.js";
import { sha256 } from "../hash.js";
import { newArtifactId } from "../ids.js";
import { readJson, writeJson, type ArtifactStore } from "../store/artifact-store.js";
import { journalKeys, type ArtifactMeta, type OutputRecord } from "../store/journal.js";
import { describeType, materializerById, pickMaterializer } from "./materializers.js";

/** Saves one step output: data first, then meta.json, whose presence marks the artifact complete. */
export async function saveArtifact(
  store: ArtifactStore,
  value: unknown,
  where: { runId: string; stepId: string; output: string },
): Promise<OutputRecord> {
  const materializer = pickMaterializer(value, where);
  let data: Uint8Array | string;
  try {
    data = await materializer.save(value);
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
  const contentHash = sha256(bytes);
  await store.write(journalKeys.artifactData(artifactId), bytes);
  const meta: ArtifactMeta = {
    artifactId,
    materializer: materializer.id,
    contentHash,
    size: bytes.byteLength,
    runId: where.runId,
    stepId: where.stepId,
    output: where.output,
    createdAt: new Date().toISOString(),
    type: describeType(value),
  };
  await writeJson(store, journalKeys.artifactMeta(artifactId), meta);
  return { artifactId, materializer: materializer.id, contentHash };
}

export async function readArtifactMeta(store: ArtifactStore, artifactId: string): Promise<ArtifactMeta | undefined> {
  return readJson<ArtifactMeta>(store, journalKeys.artifactMeta(artifactId));
}

/** True when the artifact's data and meta are both still in the store (cache reuse depends on it). */
export async function artifactExists(store: ArtifactStore, artifactId: string): Promise<boolean> {
  const [meta, data] = await Promise.all([
    store.exists(journalKeys.artifactMeta(artifactId)),
    store.exists(journalKeys.artifactData(artifactId)),
  ]);
  return meta && data;
}

export async function loadArtifact<T = unknown>(store: ArtifactStore, artifactId: string, materializerId?: string): Promise<T> {
  const id = materializerId ?? (await readArtifactMeta(store, artifactId))?.materializer;
  const data = await store.read(journalKeys.artifactData(artifactId));
  if (id === undefined || data === undefined) {
    throw new OrchError("E_ARTIFACT_NOT_FOUND", {
      message: `Artifact ${artifactId} is not in the artifact store at ${store.uri}.`,
      hint: "It may have been deleted; re-run the step that produced it (caching recomputes missing artifacts).",
    });
  }
  const materializer = materializerById(id);
  if (!materializer) {
    throw new OrchError("E_MATERIALIZER", {
      message: `Artifact ${artifactId} was saved by materializer "${id}", which is not registered in this process.`,
      hint: `Import the module that calls registerMaterializer() for "${id}" before loading the artifact.`,
    });
  }
  return (await materializer.load(data)) as T;
}
