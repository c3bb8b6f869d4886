import { createWriteStream, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from "node:fs";
import { appendFile, link, mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { assertUsableStorePath } from "./store-path.js";
import { AppendFiles } from "./append-files.js";
import { RecentReads } from "./recent-reads.js";
import { dirname, join, relative, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { OrchError } from "../errors.js";
import { assertSafeKey, type ArtifactStore } from "./artifact-store.js";

export const localArtifactStoreConfigSchema = z
  .object({
    path: z.string().min(1).describe("Folder that holds runs/, artifacts/ and cache/. Relative paths are resolved from the project root."),
  })
  .strict();

export type LocalArtifactStoreConfig = z.output<typeof localArtifactStoreConfigSchema>;

/**
 * Values up to this size are read and written with synchronous calls: for a small record one
 * open/write/close/rename costs a few microseconds of system time, while the same calls through
 * fs/promises cost four thread-pool round trips each (profiles of 1,000-step runs: most of the wall).
 * Larger values stay asynchronous so a big artifact never blocks the event loop.
 */
const SYNC_IO_LIMIT = 256 * 1024;

/** How much the store keeps of files it read recently (see RecentReads); a file over a sixteenth of it is never kept. */
const RECENT_READS_BYTES = 16 * 1024 * 1024;

/** How many files the store keeps open for appending (see AppendFiles): a run's step journal, the 64 cache journals, a few logs. */
const OPEN_APPEND_FILES = 80;

/**
 * The built-in `local` artifact store: a folder, writes made atomic by temp file + rename.
 * Refuses (E_STORE_PATH_INVALID) a folder below a regular file or on a pseudo file system (/proc).
 */
export function createLocalArtifactStore(root: string): ArtifactStore {
  const base = resolve(root);
  assertUsableStorePath(base);
  const madeDirs = new Set<string>();
  const pathOf = (key: string) => {
    assertSafeKey(key);
    return join(base, ...key.split("/").filter(Boolean));
  };
  // Unique per process without a random draw per write: a random start, then a counter.
  let tempCounter = randomBytes(4).readUInt32BE(0);
  const tempOf = (target: string) => `${target}.tmp-${process.pid}-${(tempCounter = (tempCounter + 1) >>> 0).toString(16).padStart(8, "0")}`;
  const recent = new RecentReads(RECENT_READS_BYTES);
  const appends = new AppendFiles(OPEN_APPEND_FILES);
  const ensureDir = async (dir: string) => {
    if (madeDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  };

  return {
    flavor: "local",
    uri: base,
    // An append is one write(2) on a file opened with O_APPEND: whole, and at the end, whoever else appends.
    atomicAppend: true,
    describe: () => ({ flavor: "local", config: { path: base } }),
    async read(key) {
      const path = pathOf(key);
      // A missing key is common (every cache miss): answered without building an exception.
      const stats = statSync(path, { throwIfNoEntry: false });
      // A folder is where keys below a prefix live, not a value (artifacts/<id>/ of the folder layout).
      if (stats === undefined || stats.isDirectory()) return undefined;
      try {
        // Small (records, most artifacts): read here; large: hand over to the thread pool.
        if (stats.size <= SYNC_IO_LIMIT) {
          const known = recent.get(path, stats);
          if (known) return known;
          const bytes = readFileSync(path);
          recent.remember(path, stats, bytes);
          return bytes;
        }
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
      try {
        return await readFile(path);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async write(key, data, options = {}) {
      const target = pathOf(key);
      recent.forget(target);
      await ensureDir(dirname(target));
      if (options.atomic === false && data.length <= SYNC_IO_LIMIT) {
        // No reader is misled by a partial value here (see WriteOptions): one write, no rename.
        writeFileSync(target, data);
        // A fresh artifact is read next by the steps downstream: they find it here (checked by a stat).
        const stats = statSync(target, { throwIfNoEntry: false });
        if (stats) recent.remember(target, stats, typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        return;
      }
      // A crash mid-write leaves only a temp file that nothing reads, never a half-written value.
      const temp = tempOf(target);
      if (data.length <= SYNC_IO_LIMIT) {
        writeFileSync(temp, data);
        renameSync(temp, target);
        return;
      }
      await writeFile(temp, data);
      await rename(temp, target);
    },
    async writeIfAbsent(key, data) {
      const target = pathOf(key);
      recent.forget(target);
      await ensureDir(dirname(target));
      const temp = tempOf(target);
      await writeFile(temp, data);
      // link() is an exclusive create of the whole, already written file: EEXIST when another writer won.
      try {
        await link(temp, target);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw error;
      } finally {
        await unlink(temp).catch(() => {});
      }
    },
    async readStream(key) {
      // Opening first turns a missing key into `undefined` instead of an error event on the stream.
      if (fileStats(pathOf(key)) === undefined) return undefined;
      try {
        const handle = await open(pathOf(key), "r");
        return handle.createReadStream();
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async writeStream(key, source, options = {}) {
      const target = pathOf(key);
      recent.forget(target);
      await ensureDir(dirname(target));
      const temp = tempOf(target);
      try {
        await pipeline(source, createWriteStream(temp), options.signal ? { signal: options.signal } : {});
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },
    async preflight() {
      const probe = join(base, `.orch-preflight-${process.pid}-${randomBytes(4).toString("hex")}`);
      try {
        await mkdir(base, { recursive: true });
        await writeFile(probe, "");
        await rm(probe, { force: true });
      } catch (cause) {
        throw new OrchError("E_CONFIG_INVALID", {
          flavor: "local",
          key: "path",
          message: `[orch] [local] artifact store path ${base} is not writable: ${(cause as Error).message}`,
          hint: "Point the artifact store's path at a folder this user can write (orch artifact-store update <name> --path=…).",
          cause,
        });
      }
    },
    async exists(key) {
      return fileStats(pathOf(key)) !== undefined;
    },
    async size(key) {
      return fileStats(pathOf(key))?.size;
    },
    async list(prefix) {
      const dir = pathOf(prefix);
      try {
        const entries = await readdir(dir, { recursive: true, withFileTypes: true });
        return entries
          .filter((e) => e.isFile() && !TEMP_SUFFIX.test(e.name))
          .map((e) => relative(base, join(e.parentPath, e.name)).split(sep).join("/"))
          .sort();
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { recursive: true, force: true });
      recent.forgetUnder(pathOf(key));
      appends.closeUnder(pathOf(key));
      madeDirs.clear();
    },
    async append(key, text) {
      const target = pathOf(key);
      await ensureDir(dirname(target));
      if (text.length > SYNC_IO_LIMIT) {
        await appendFile(target, text);
        recent.forget(target);
        return;
      }
      appends.append(target, Buffer.from(text));
      recent.forget(target);
    },
  };
}

/** The stats of the file at `path`; undefined when there is none or it is a folder (keys name files). */
function fileStats(path: string): Stats | undefined {
  try {
    const stats = statSync(path, { throwIfNoEntry: false });
    return stats?.isDirectory() ? undefined : stats;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The suffix of in-flight temp files (`tempOf`); keys may contain ".tmp-" themselves. */
const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]{8}$/;

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
