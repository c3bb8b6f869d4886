import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { inspect } from "node:util";
import { OrchError } from "../errors.js";
import { openReadStream, type ArtifactStore } from "../store/artifact-store.js";

/** Bytes that can be streamed into the artifact store: a Node `Readable` or any async iterable of bytes. */
export type ByteSource = Readable | AsyncIterable<Uint8Array | string>;

/**
 * A step output whose bytes are streamed into the artifact store instead of being held in memory.
 * Made by {@link artifactFile} or {@link artifactStream}; saved by the built-in `stream` materializer.
 */
export class ArtifactSource {
  /** @internal use artifactFile() / artifactStream() */
  constructor(
    /** What the bytes come from, for error messages (`file /data/big.bin`, `a stream`). */
    readonly description: string,
    private readonly opener: () => Promise<{ source: ByteSource; size?: number }>,
  ) {}

  /** @internal */
  open(): Promise<{ source: ByteSource; size?: number }> {
    return this.opener();
  }
}

/** Return `artifactFile(path)` from a step to store the file's bytes as the output, streamed. */
export function artifactFile(path: string): ArtifactSource {
  const file = resolve(path);
  return new ArtifactSource(`file ${file}`, async () => {
    const info = await stat(file);
    if (!info.isFile()) throw new Error(`${file} is not a file`);
    return { source: createReadStream(file), size: info.size };
  });
}

/** Return `artifactStream(readableOrAsyncIterable)` from a step to store what it yields, streamed. */
export function artifactStream(source: ByteSource, options: { size?: number } = {}): ArtifactSource {
  if (!isByteSource(source)) throw new TypeError("artifactStream() takes a Readable or an async iterable of bytes");
  return new ArtifactSource("a stream", async () => ({ source, ...(options.size !== undefined ? { size: options.size } : {}) }));
}

export function isByteSource(value: unknown): value is ByteSource {
  if (value instanceof Readable) return true;
  if (typeof value !== "object" || value === null) return false;
  // An async generator or a custom async iterable; plain objects (data) never qualify.
  const proto = Object.getPrototypeOf(value);
  return proto !== Object.prototype && proto !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}

/** A stream yielded something that is not bytes: a bug in the step, not worth a retry. */
export class NotBytesError extends TypeError {}

/** Sizes and sha256 of bytes as they stream past, in the same hex format as whole-value hashes. */
export class StreamMeasure {
  private readonly hash = createHash("sha256");
  size = 0;

  /** Yields `source` as byte chunks (strings as UTF-8), counting and hashing them on the way. */
  async *pass(source: ByteSource): AsyncGenerator<Uint8Array> {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (!(bytes instanceof Uint8Array)) throw new NotBytesError(`the stream yielded ${typeof bytes}, not bytes (Buffer, Uint8Array or string)`);
      this.hash.update(bytes);
      this.size += bytes.byteLength;
      yield bytes;
    }
  }

  digest(): string {
    return this.hash.digest("hex");
  }
}

/**
 * A stored artifact loaded without reading it: what a downstream step receives for an output saved
 * by the `stream` materializer (and what a streaming materializer's `loadStream` gets). Each call of
 * {@link stream} reads the data afresh and checks its size and content hash as it goes: a damaged
 * artifact makes the stream fail with `E_ARTIFACT_CORRUPT` at its end instead of ending cleanly.
 */
export class StreamedArtifact {
  /** @internal made by loadArtifact() */
  constructor(
    private readonly store: ArtifactStore,
    private readonly key: string,
    readonly artifactId: string,
    /** Size in bytes recorded when it was saved (undefined for artifacts without meta.json). */
    readonly size: number | undefined,
    /** sha256 (hex) recorded when it was saved. */
    readonly contentHash: string | undefined,
    private readonly verifyHash: boolean,
  ) {}

  /** The artifact's bytes as a Node Readable, never held in memory as a whole. */
  stream(): Readable {
    return Readable.from(this.verified(), { objectMode: false });
  }

  /** Writes the bytes to `path` (atomically: a temp file renamed into place) and returns the absolute path. */
  async toFile(path: string): Promise<string> {
    const target = resolve(path);
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      await pipeline(this.stream(), createWriteStream(temp));
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return target;
  }

  /** The whole artifact in memory: only for artifacts you know are small. */
  async bytes(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.stream()) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** What logs and JSON show: the artifact, not the store object behind it. */
  toJSON(): { artifactId: string; size: number | undefined; contentHash: string | undefined } {
    return { artifactId: this.artifactId, size: this.size, contentHash: this.contentHash };
  }

  [inspect.custom](): string {
    return `StreamedArtifact ${JSON.stringify(this.toJSON())}`;
  }

  private async *verified(): AsyncGenerator<Uint8Array> {
    const source = await openReadStream(this.store, this.key);
    if (!source) {
      throw new OrchError("E_ARTIFACT_NOT_FOUND", {
        message: `Artifact ${this.artifactId} is not in the artifact store at ${this.store.uri}.`,
        hint: "It may have been deleted; re-run the step that produced it (caching and `orch run resume` recompute missing artifacts).",
      });
    }
    const measure = new StreamMeasure();
    yield* measure.pass(source);
    const problem =
      this.size !== undefined && measure.size !== this.size
        ? `its data is ${measure.size} bytes, but ${this.size} were saved (truncated or replaced)`
        : this.verifyHash && this.contentHash !== undefined && measure.digest() !== this.contentHash
          ? "its data does not match the content hash recorded when it was saved (changed in the store)"
          : undefined;
    if (problem) {
      throw new OrchError("E_ARTIFACT_CORRUPT", {
        message: `Artifact ${this.artifactId} in the artifact store at ${this.store.uri} cannot be trusted: ${problem}.`,
        hint: "Re-run the step that produced it (caching and `orch run resume` recompute damaged artifacts).",
      });
    }
  }
}

/** What the built-in `stream` materializer saves: sources made by the helpers, raw byte streams, loaded artifacts (pass-through). */
export type StreamValue = ArtifactSource | StreamedArtifact | ByteSource;

export function isStreamValue(value: unknown): value is StreamValue {
  return value instanceof ArtifactSource || value instanceof StreamedArtifact || isByteSource(value);
}

/** Opens a stream value for saving; `size` when it is known up front (lets a store pick its upload strategy). */
export async function openStreamValue(value: StreamValue): Promise<{ source: ByteSource; size?: number }> {
  if (value instanceof ArtifactSource) return value.open();
  if (value instanceof StreamedArtifact) return { source: value.stream(), ...(value.size !== undefined ? { size: value.size } : {}) };
  return { source: value };
}

/**
 * The type a step output loads as: what the `stream` materializer saves loads as a
 * {@link StreamedArtifact} handle; everything else as itself. Used by step handles and `load()`.
 */
export type Loaded<T> = T extends ArtifactSource | StreamedArtifact | Readable | AsyncGenerator<Uint8Array | string, unknown, unknown> ? StreamedArtifact : T;
