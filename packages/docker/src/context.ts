import { createHash } from "node:crypto";
import { createReadStream, existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, realpath, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { createRequire } from "node:module";

interface IgnoreMatcher {
  add(patterns: string | string[]): IgnoreMatcher;
  ignores(path: string): boolean;
}
// A CommonJS module (module.exports = factory) whose typings claim a default export; require() is exact.
const dockerignore = createRequire(import.meta.url)("@balena/dockerignore") as (options?: { ignorecase?: boolean }) => IgnoreMatcher;

/** One entry of a build context, at the absolute path it has on this machine (and will have in the image). */
export interface ContextEntry {
  /** Absolute POSIX path on the host, which is also its path inside the image. */
  path: string;
  type: "file" | "symlink";
  mode: number;
  size: number;
  /** Symlinks: the link text, kept as is (relative links keep working because paths are mirrored). */
  linkTarget?: string;
  /** Files: sha256 of the content. */
  hash?: string;
  /** True for files under a node_modules folder (they go in their own image layer). */
  dependency: boolean;
}

export interface CollectContextOptions {
  /** The project root: its files, and everything its node_modules links to, make up the context. */
  projectRoot: string;
  /** Include the project's devDependencies (default false; `tsx` is always included). */
  includeDevDependencies?: boolean;
  /** Extra package names from the project's node_modules to include (e.g. dev-only tools a step needs). */
  includePackages?: string[];
  /** Extra .dockerignore-style patterns, applied like the project's own `.dockerignore`. */
  ignore?: string[];
  /**
   * A file that remembers each context file's hash with its size, mtime, ctime and inode, so a run
   * in a new process re-reads only what changed (a large unchanged project is only stat'ed). Default:
   * `<projectRoot>/.orch/cache/context-hashes.json`; `false` keeps the cache in this process only.
   */
  statCache?: string | false;
}

export interface BuildContext {
  projectRoot: string;
  entries: ContextEntry[];
  /** The folders that were walked (the project, plus linked packages and package-store folders). */
  roots: string[];
  /** How many files were read to hash them; the others' hashes came from the stat cache. */
  hashed?: number;
}

/** Always left out: VCS data, the orch home (artifacts, index), and tool caches. */
export const DEFAULT_IGNORES = [".git", ".orch", "node_modules/.cache", ".turbo", "**/.git", "**/node_modules/.cache"];

/** Packages the step containers always need from the project: the TypeScript loader the entrypoint uses. */
const ALWAYS_INCLUDED = ["tsx"];

/**
 * Collects the files a step container needs to run the project: the project folder (respecting its
 * `.dockerignore`), and — following node_modules symlinks, as pnpm and workspaces create them — the
 * linked packages and package-store folders they point to, each at its own absolute path so every
 * symlink still resolves inside the image. In a pnpm layout only the project's dependencies
 * (not devDependencies, except `tsx`) and linked packages' production dependencies are followed.
 */
export async function collectBuildContext(options: CollectContextOptions): Promise<BuildContext> {
  const projectRoot = await realpath(options.projectRoot);
  const userIgnores = [...readDockerignore(projectRoot), ...(options.ignore ?? [])];
  const entries = new Map<string, ContextEntry>();
  const roots: string[] = [];
  const queue: { root: string; kind: "project" | "package" | "store" }[] = [{ root: projectRoot, kind: "project" }];

  const walkedStores = new Set<string>();
  // A package folder is covered when a walked project/package root holds it (stores are walked one by one).
  const covered = (path: string) => roots.some((root) => !walkedStores.has(root) && (path === root || path.startsWith(root + sep)));
  const enqueue = (target: string) => {
    const store = storeRootOf(target);
    if (store && isPnpmStore(store)) {
      if (!walkedStores.has(store) && !queue.some((q) => q.root === store)) queue.push({ root: store, kind: "store" });
    } else if (!covered(target) && !queue.some((q) => q.root === target)) {
      queue.push({ root: target, kind: "package" });
    }
  };

  while (queue.length > 0) {
    const { root, kind } = queue.shift()!;
    if (kind === "store" ? walkedStores.has(root) : covered(root)) continue;
    roots.push(root);
    if (kind === "store") walkedStores.add(root);
    const ignore = dockerignore({ ignorecase: false }).add(DEFAULT_IGNORES).add(kind === "store" ? [] : userIgnores);
    const allowedDeps = kind === "store" ? undefined : allowedDependencies(root, kind === "project" ? options : { includeDevDependencies: false });
    await walk(root, root, ignore, allowedDeps, entries, enqueue);
  }
  const sorted = [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const cacheFile = options.statCache === false ? undefined : (options.statCache ?? join(projectRoot, ".orch", "cache", "context-hashes.json"));
  const persisted = cacheFile ? await loadStatCache(cacheFile) : undefined;
  const hashed = await hashFiles(sorted, persisted);
  if (cacheFile && (hashed > 0 || !persisted)) await saveStatCache(cacheFile, sorted);
  return { projectRoot, entries: sorted, roots, hashed };
}

function isPnpmStore(path: string): boolean {
  return path.includes(`${sep}node_modules${sep}.pnpm${sep}`);
}

/** `/x/node_modules/.pnpm/zod@4/node_modules/zod` → `/x/node_modules/.pnpm/zod@4/node_modules` (the package and its linked deps). */
function storeRootOf(target: string): string | undefined {
  const marker = `${sep}node_modules${sep}`;
  const index = target.lastIndexOf(marker);
  return index === -1 ? undefined : target.slice(0, index + marker.length - 1);
}

/**
 * Which top-level entries of `<root>/node_modules` to follow, or undefined for "all". Only pnpm-style
 * folders (symlinks into a store) are filtered: with npm/yarn hoisting, transitive dependencies sit
 * next to direct ones, so everything is kept there.
 */
function allowedDependencies(root: string, options: Pick<CollectContextOptions, "includeDevDependencies" | "includePackages">): Set<string> | undefined {
  if (!isPnpmLayout(root)) return undefined;
  let manifest: Record<string, Record<string, string> | undefined> = {};
  try {
    manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  } catch {
    return undefined;
  }
  const names = new Set<string>([...ALWAYS_INCLUDED, ...(options.includePackages ?? [])]);
  const fields = ["dependencies", "optionalDependencies", "peerDependencies", ...(options.includeDevDependencies ? ["devDependencies"] : [])];
  for (const field of fields) for (const name of Object.keys(manifest[field] ?? {})) names.add(name);
  return names;
}

/** pnpm keeps `.modules.yaml` in the node_modules of the project or of its workspace root. */
function isPnpmLayout(root: string): boolean {
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", ".modules.yaml")) || existsSync(join(dir, "node_modules", ".pnpm"))) return true;
    if (dirname(dir) === dir) return false;
  }
}

function readDockerignore(root: string): string[] {
  try {
    return readFileSync(join(root, ".dockerignore"), "utf8")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
  } catch {
    return [];
  }
}

// The walk uses synchronous fs calls on purpose: it is thousands of tiny metadata calls done one after
// another, where the thread-pool round trip of each async call costs more than the call itself.
async function walk(
  root: string,
  dir: string,
  ignore: IgnoreMatcher,
  allowedDeps: Set<string> | undefined,
  entries: Map<string, ContextEntry>,
  follow: (target: string) => void,
): Promise<void> {
  let dirents;
  try {
    dirents = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // unreadable folders are left out, as docker would fail on them anyway
  }
  const relDir = relative(root, dir).split(sep).join("/");
  for (const dirent of dirents) {
    const abs = join(dir, dirent.name);
    const rel = relDir ? `${relDir}/${dirent.name}` : dirent.name;
    if (ignore.ignores(rel)) continue;
    // pnpm's store is never copied wholesale: only the packages that links lead to are walked.
    if (dirent.name === ".pnpm" && (relDir === "node_modules" || relDir.endsWith("/node_modules"))) continue;
    if (allowedDeps && !isAllowedDependency(rel, allowedDeps)) continue;
    if (dirent.isSymbolicLink()) {
      const info = lstatSync(abs);
      const linkTarget = readlinkSync(abs);
      let real: string | undefined;
      try {
        real = realpathSync(abs);
      } catch {
        continue; // a dangling link would break the COPY
      }
      entries.set(abs, { path: toPosix(abs), type: "symlink", mode: info.mode & 0o7777, size: 0, linkTarget, dependency: isDependencyPath(abs) });
      const targetInfo = statSync(real);
      // A link into the same tree is walked where it points; one out of it (or into a pnpm store) adds that folder as a root.
      const target = targetInfo.isDirectory() ? real : dirname(real);
      if (isPnpmStore(target) || !(target === root || target.startsWith(root + sep))) follow(target);
    } else if (dirent.isDirectory()) {
      await walk(root, abs, ignore, allowedDeps, entries, follow);
    } else if (dirent.isFile()) {
      const info = statSync(abs);
      const entry: ContextEntry = { path: toPosix(abs), type: "file", mode: info.mode & 0o7777, size: info.size, dependency: isDependencyPath(abs) };
      walkedStats.set(entry, { size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino });
      entries.set(abs, entry);
    }
  }
}

/** `node_modules/<name>` and `node_modules/@scope/<name>` of a filtered root must be dependencies. */
function isAllowedDependency(rel: string, allowed: Set<string>): boolean {
  const parts = rel.split("/");
  if (parts[0] !== "node_modules" || parts.length < 2) return true;
  const first = parts[1]!;
  if (first.startsWith("@")) {
    if (parts.length < 3) return [...allowed].some((name) => name.startsWith(`${first}/`));
    return allowed.has(`${first}/${parts[2]}`);
  }
  return allowed.has(first);
}

function isDependencyPath(path: string): boolean {
  return path.includes(`${sep}node_modules${sep}`);
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}

/** What a file's hash is remembered with: any change to content changes one of these. */
interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}
/** The stat of each file entry taken during the walk, so hashing does not stat it again. */
const walkedStats = new WeakMap<ContextEntry, FileStamp>();
/** Content hashes, memoised per process by stamp so repeated runs in one process hash only what changed. */
const hashMemo = new Map<string, FileStamp & { hash: string }>();
const STAT_CACHE_VERSION = 1;

type PersistedStamps = Map<string, FileStamp & { hash: string }>;

async function loadStatCache(file: string): Promise<PersistedStamps | undefined> {
  try {
    const data = JSON.parse(await readFile(file, "utf8")) as { version?: number; files?: Record<string, [number, number, number, number, string]> };
    if (data.version !== STAT_CACHE_VERSION || !data.files) return undefined;
    const map: PersistedStamps = new Map();
    for (const [path, [size, mtimeMs, ctimeMs, ino, hash]] of Object.entries(data.files)) map.set(path, { size, mtimeMs, ctimeMs, ino, hash });
    return map;
  } catch {
    return undefined; // missing or unreadable: hash everything, write a new one
  }
}

/** Written atomically (temp + rename): two runs at once must never leave a torn cache. */
async function saveStatCache(file: string, entries: ContextEntry[]): Promise<void> {
  const files: Record<string, [number, number, number, number, string]> = {};
  for (const entry of entries) {
    const memo = entry.type === "file" ? hashMemo.get(entry.path) : undefined;
    if (memo && entry.hash === memo.hash) files[entry.path] = [memo.size, memo.mtimeMs, memo.ctimeMs, memo.ino, memo.hash];
  }
  try {
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, JSON.stringify({ version: STAT_CACHE_VERSION, files }));
    await rename(temp, file);
  } catch {
    // A read-only project still builds; the next run hashes again.
  }
}

const sameStamp = (a: FileStamp, b: FileStamp) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;

/** Hashes every file entry, reusing a remembered hash when the file's stamp is unchanged. Returns how many files were read. */
async function hashFiles(entries: ContextEntry[], persisted: PersistedStamps | undefined): Promise<number> {
  const files = entries.filter((e) => e.type === "file");
  let next = 0;
  let read = 0;
  const worker = async () => {
    while (next < files.length) {
      const entry = files[next++]!;
      let stamp = walkedStats.get(entry);
      if (!stamp) {
        const info = await stat(entry.path).catch(() => undefined);
        if (!info) continue; // vanished since the walk: packing reports it
        stamp = { size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino };
      }
      const memo = hashMemo.get(entry.path) ?? persisted?.get(entry.path);
      if (memo && sameStamp(memo, stamp)) {
        entry.hash = memo.hash;
        hashMemo.set(entry.path, memo);
        continue;
      }
      read++;
      // The size is taken from what was hashed: a file that changes meanwhile stays consistent.
      if (stamp.size < 1 << 20) {
        const data = await readFile(entry.path).catch(() => undefined);
        if (!data) continue; // vanished: packing reports it
        entry.hash = sha256(data);
        entry.size = data.length;
      } else {
        const hashed = await hashStream(entry.path).catch(() => undefined);
        if (!hashed) continue;
        entry.hash = hashed.hash;
        entry.size = hashed.size;
      }
      hashMemo.set(entry.path, { ...stamp, size: entry.size, hash: entry.hash });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return read;
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function hashStream(path: string): Promise<{ hash: string; size: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    let size = 0;
    createReadStream(path)
      .on("data", (chunk) => {
        size += chunk.length;
        hash.update(chunk);
      })
      .on("error", reject)
      .on("end", () => resolve({ hash: hash.digest("hex"), size }));
  });
}

/**
 * The content hash of a build: the Dockerfile, build args and every context entry (path, mode,
 * link target or content). Equal hashes mean an identical image, so the tag can be reused.
 */
export function contextHash(dockerfile: string, buildArgs: Record<string, string>, entries: ContextEntry[]): string {
  const hash = createHash("sha256");
  hash.update(`dockerfile\0${dockerfile}\0`);
  for (const key of Object.keys(buildArgs).sort()) hash.update(`arg\0${key}=${buildArgs[key]}\0`);
  for (const entry of entries) {
    hash.update(`${entry.type}\0${entry.path}\0${entry.mode.toString(8)}\0${entry.linkTarget ?? entry.hash ?? ""}\0`);
  }
  return hash.digest("hex");
}

/**
 * The host folders a container needs bind-mounted (read-only, at the same paths) to run the project
 * from source without an image build: the project, plus every folder its node_modules links lead to
 * (package-store folders are mounted as their whole `node_modules`). Nested folders are collapsed.
 */
export async function sourceMounts(projectRoot: string): Promise<string[]> {
  const start = await realpath(projectRoot);
  const mounts = new Set<string>([start]);
  const scanned = new Set<string>();
  const scan = async (root: string): Promise<void> => {
    if (scanned.has(root)) return;
    scanned.add(root);
    const modules = join(root, "node_modules");
    let names: string[] = [];
    try {
      names = await readdir(modules);
    } catch {
      return;
    }
    const candidates: string[] = [];
    for (const name of names) {
      if (name.startsWith("@")) {
        for (const scoped of await readdir(join(modules, name)).catch(() => [] as string[])) candidates.push(join(modules, name, scoped));
      } else if (name !== ".bin" && name !== ".pnpm") {
        candidates.push(join(modules, name));
      }
    }
    for (const link of candidates) {
      let real: string;
      try {
        if (!(await lstat(link)).isSymbolicLink()) continue;
        real = await realpath(link);
      } catch {
        continue;
      }
      const storeRoot = storeRootOf(real);
      if (storeRoot) {
        // Mount the node_modules that holds the store (`/ws/node_modules`), not each package.
        const pnpm = storeRoot.indexOf(`${sep}node_modules${sep}.pnpm${sep}`);
        mounts.add(pnpm === -1 ? storeRoot : storeRoot.slice(0, pnpm + `${sep}node_modules`.length));
      } else {
        mounts.add(real);
        await scan(real);
      }
    }
  };
  await scan(start);
  const sorted = [...mounts].sort((a, b) => a.length - b.length);
  return sorted.filter((path, i) => !sorted.slice(0, i).some((outer) => path.startsWith(outer + sep))).sort();
}
