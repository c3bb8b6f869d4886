import { appendFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { assertUsableStorePath } from "./store-path.js";
import { dirname, join, relative, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { assertSafeKey, type ArtifactStore } from "./artifact-store.js";

export const localArtifactStoreConfigSchema = z
  .object({
    path: z.string().min(1).describe("Folder that holds runs/, artifacts/ and cache/. Relative paths are resolved from the project root."),
  })
  .strict();

export type LocalArtifactStoreConfig = z.output<typeof localArtifactStoreConfigSchema>;

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
  const ensureDir = async (dir: string) => {
    if (madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  };

  return {
    flavor: "local",
    uri: base,
    describe: () => ({ flavor: "local", config: { path: base } }),
    async read(key) {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async write(key, data) {
      const target = pathOf(key);
      await ensureDir(dirname(target));
      // A crash mid-write leaves only a temp file that nothing reads, never a half-written value.
      const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      await writeFile(temp, data);
      await rename(temp, target);
    },
    async writeIfAbsent(key, data) {
      const target = pathOf(key);
      await ensureDir(dirname(target));
      // Written whole to a temp file, then linked into place: link fails with EEXIST when the key
      // exists, so readers never see a half-written value and only one writer wins.
      const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      await writeFile(temp, data);
      try {
        await link(temp, target);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw error;
      } finally {
        await rm(temp, { force: true });
      }
    },
    async exists(key) {
      try {
        await stat(pathOf(key));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    async list(prefix) {
      const dir = pathOf(prefix);
      try {
        const entries = await readdir(dir, { recursive: true, withFileTypes: true });
        return entries
          .filter((e) => e.isFile() && !e.name.includes(".tmp-"))
          .map((e) => relative(base, join(e.parentPath, e.name)).split(sep).join("/"))
          .sort();
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
    },
    async delete(key) {
      await rm(pathOf(key), { recursive: true, force: true });
      madeDirs.clear();
    },
    async append(key, text) {
      const target = pathOf(key);
      await ensureDir(dirname(target));
      await appendFile(target, text);
    },
  };
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
