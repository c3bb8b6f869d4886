import { Readable } from "node:stream";

/** Options of {@link ArtifactStore.writeStream}. */
export interface WriteStreamOptions {
  /** Total size in bytes when the caller knows it (lets a store pick its upload strategy). */
  size?: number;
  /** Aborts the upload; nothing is left under the key. */
  signal?: AbortSignal;
}

/** Options of {@link ArtifactStore.write}. */
export interface WriteOptions {
  /**
   * `false` when a reader can never be misled by a partial value, so the store may skip its atomic-write
   * machinery (the local store then writes the file in place, without temp file and rename). Core
   * passes it for a fresh artifact (no record names its id until the data is whole) and for a cache
   * entry (one that does not parse or whose artifact does not check out is a cache miss). Default `true`.
   */
  atomic?: boolean;
}

/**
 * The artifact store: a flat key → bytes space with posix keys (`runs/<id>/run.json`, …).
 * Local and remote flavors implement the same five calls, so every orchestrator writes the same
 * journal layout wherever the data lives. Everything after the five calls is optional, so a third-party
 * store written against the first contract still conforms; callers use the fallbacks below
 * ({@link openReadStream}, {@link writeFromStream}) instead of testing each method themselves.
 */
export interface ArtifactStore {
  /** Flavor id of the store, e.g. `local`. */
  readonly flavor: string;
  /** A string another process (or container) can use to reach the same store, e.g. the local path. */
  readonly uri: string;
  /** The bytes under `key`, or `undefined` when there is none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Writes `data` under `key` atomically: readers see the old value or the whole new one. */
  write(key: string, data: Uint8Array | string, options?: WriteOptions): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Size in bytes of the value under `key`, or `undefined` when there is none. Optional: lets
   * large artifacts be checked without reading them (stores without it have them read). */
  size?(key: string): Promise<number | undefined>;
  /** Keys directly or indirectly under `prefix` (a folder-like prefix ending in `/`), every page of them. */
  list(prefix: string): Promise<string[]>;
  /** Deletes `key`, or everything under it when it ends with `/`. */
  delete(key: string): Promise<void>;
  /**
   * Appends text (logs). Optional: stores without it get whole-file writes at the end. A store may
   * buffer appends (object stores rewrite the object periodically); {@link flush} makes them durable.
   */
  append?(key: string, text: string): Promise<void>;
  /** Makes buffered appends durable (all keys, or one). Called when a step's log is complete. */
  flush?(key?: string): Promise<void>;
  /**
   * `true` when `append()` reaches the store before it resolves and appends from several processes
   * never interleave within one call (a local file opened for appending). Core then appends step
   * records to one journal per run (`runs/<id>/steps.jsonl`) instead of writing an object per record.
   * Object stores buffer appends, so they leave it unset.
   */
  readonly atomicAppend?: boolean;
  /**
   * Streams the bytes under `key` without holding them in memory, or `undefined` when there is none.
   * For large artifacts; `read()` stays the fast path for small records.
   */
  readStream?(key: string): Promise<Readable | undefined>;
  /**
   * Writes everything `source` yields under `key` without holding it in memory (multipart / block
   * uploads remotely, temp file + rename locally). Atomic like `write()`: readers see the old value or
   * the whole new one; when `source` fails or `signal` aborts, nothing new is left under the key.
   */
  writeStream?(key: string, source: Readable | AsyncIterable<Uint8Array>, options?: WriteStreamOptions): Promise<void>;
  /**
   * Conditional create (`If-None-Match: *`, generation 0, exclusive create): writes `data` only when no
   * value exists under `key`. Resolves `true` when this call wrote it, `false` when another writer got
   * there first (the existing value is untouched). For records two writers may race on.
   */
  writeIfAbsent?(key: string, data: Uint8Array | string): Promise<boolean>;
  /**
   * Checks that the store is reachable and writable (the bucket exists, credentials work, a probe
   * object can be written and deleted). Rejects with one `OrchError` naming the flavor, the path and the
   * fix. Called at stack activation, so a wrong bucket fails before the first step, not inside step 7.
   */
  preflight?(): Promise<void>;
  /** The store's config, so a child process can open the same store (`orch-entrypoint --artifact-store`). Never holds secrets. */
  describe(): { flavor: string; config: Record<string, unknown> };
  /**
   * Environment variables a child process (a container, a pod) needs besides `describe()` to open
   * the same store: credentials given explicitly in the config. Pass them as env, never in argv or logs.
   */
  env?(): Record<string, string>;
}

/**
 * Segments of `[A-Za-z0-9_.-]` that do not end in "." (Azure Blob Storage and Windows file systems drop
 * trailing dots, so "a." and "a" would be one key there).
 */
const SEGMENT = "[A-Za-z0-9_.-]*[A-Za-z0-9_-]";
const KEY_PATTERN = new RegExp(`^${SEGMENT}(/${SEGMENT})*/?$`);

/** Keys are built from validated names; this guards the store against path tricks all the same. */
export function assertSafeKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split("/").some((part) => part === ".." || part === ".")) {
    throw new Error(`Unsafe artifact store key ${JSON.stringify(key)}`);
  }
}

export async function readJson<T>(store: ArtifactStore, key: string): Promise<T | undefined> {
  const bytes = await store.read(key);
  return bytes === undefined ? undefined : (JSON.parse(Buffer.from(bytes).toString("utf8")) as T);
}

/** Compact JSON: records are written on the hot path and read by programs (`jq` pretty-prints them). */
export async function writeJson(store: ArtifactStore, key: string, value: unknown, options?: WriteOptions): Promise<void> {
  await store.write(key, JSON.stringify(value), options);
}

/** `store.readStream(key)`, or a stream over `store.read(key)` for stores without streaming. */
export async function openReadStream(store: ArtifactStore, key: string): Promise<Readable | undefined> {
  if (store.readStream) return store.readStream(key);
  const bytes = await store.read(key);
  return bytes === undefined ? undefined : Readable.from([bytes]);
}

/** `store.writeStream(key, source)`, or one buffered `write()` for stores without streaming. */
export async function writeFromStream(
  store: ArtifactStore,
  key: string,
  source: Readable | AsyncIterable<Uint8Array>,
  options: WriteStreamOptions = {},
): Promise<void> {
  if (store.writeStream) return store.writeStream(key, source, options);
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) {
    options.signal?.throwIfAborted();
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  await store.write(key, Buffer.concat(chunks));
}
