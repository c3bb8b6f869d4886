/**
 * The artifact store: a flat key → bytes space with posix keys (`runs/<id>/run.json`, …).
 * Local and remote flavors implement the same five calls, so every orchestrator writes the same
 * journal layout (DESIGN §6) wherever the data lives.
 */
export interface ArtifactStore {
  /** Flavor id of the store, e.g. `local`. */
  readonly flavor: string;
  /** A string another process (or container) can use to reach the same store, e.g. the local path. */
  readonly uri: string;
  /** The bytes under `key`, or `undefined` when there is none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Writes `data` under `key` atomically: readers see the old value or the whole new one. */
  write(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Keys directly or indirectly under `prefix` (a folder-like prefix ending in `/`). */
  list(prefix: string): Promise<string[]>;
  /** Deletes `key`, or everything under it when it ends with `/`. */
  delete(key: string): Promise<void>;
  /**
   * Writes `data` under `key` only if nothing is there yet; false when something was. Atomic where the
   * store can do it (O_EXCL locally, a conditional put remotely); used for the run owner's lock.
   */
  writeIfAbsent?(key: string, data: Uint8Array | string): Promise<boolean>;
  /** Appends text (logs). Optional: stores without it get whole-file writes at the end. */
  append?(key: string, text: string): Promise<void>;
  /** The store's config, so a child process can open the same store (`orch-entrypoint --artifact-store`). */
  describe(): { flavor: string; config: Record<string, unknown> };
}

const KEY_PATTERN = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/;

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

export async function writeJson(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  await store.write(key, JSON.stringify(value, null, 2));
}
