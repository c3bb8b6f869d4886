import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { initSync, parse } from "es-module-lexer";
import { moduleResolve } from "import-meta-resolve";
import { hashJson, sha256 } from "../hash.js";

/**
 * The code a module runs: its own text, the project modules it reaches through static imports (and
 * dynamic imports of a literal path), and the packages it imports by name@version. Hashing this is
 * what makes a step's cache key change when a helper or a module constant it uses changes.
 */

/** Files whose imports are followed; anything else reached (JSON, text) is hashed as bytes. */
const CODE = /\.(c|m)?(j|t)sx?$/;
/** `./helper.js` in TypeScript sources names `./helper.ts` (and .mjs → .mts, .cjs → .cts, .jsx → .tsx). */
const TS_FOR_JS: Record<string, string[]> = { ".js": [".ts", ".tsx"], ".mjs": [".mts"], ".cjs": [".cts"], ".jsx": [".tsx"] };
const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json"];
const BUILTINS = new Set(builtinModules);
/** `require("./x")` in CommonJS files, which the ES module lexer does not report. */
const REQUIRE = /\brequire\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g;

interface FileInfo {
  hash: string;
  /** Project files this file imports (absolute paths). */
  files: string[];
  /** `name@version` of packages it imports, or `unresolved:<specifier>`. */
  packages: string[];
}

// Per-process caches: a file is read and parsed once, a module's graph is hashed once.
const fileInfos = new Map<string, FileInfo>();
const graphHashes = new Map<string, string>();
const packageIds = new Map<string, string>();
let lexerReady = false;

/** Hash of a module and everything of the project it imports, or undefined when it cannot be read. */
export function moduleGraphHash(fileOrUrl: string): string | undefined {
  const entry = toPath(fileOrUrl);
  if (!entry || !isFile(entry)) return undefined;
  const cached = graphHashes.get(entry);
  if (cached) return cached;
  const files = new Map<string, string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    const info = fileInfo(file);
    files.set(file, info.hash);
    for (const p of info.packages) packages.add(p);
    for (const f of info.files) if (!files.has(f)) pending.push(f);
  }
  // Paths relative to the step's module keep the hash the same wherever the project is checked out.
  const base = dirname(entry);
  const hash = hashJson({
    files: [...files].map(([file, h]) => [relative(base, file).split(sep).join("/"), h]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
    packages: [...packages].sort(),
  });
  graphHashes.set(entry, hash);
  return hash;
}

/** Forgets cached hashes (tests that edit files within one process). */
export function clearModuleGraphCache(): void {
  fileInfos.clear();
  graphHashes.clear();
  packageIds.clear();
}

function fileInfo(file: string): FileInfo {
  const cached = fileInfos.get(file);
  if (cached) return cached;
  const bytes = readFileSync(file);
  const info: FileInfo = { hash: sha256(bytes), files: [], packages: [] };
  if (CODE.test(file)) {
    const files = new Set<string>();
    const packages = new Set<string>();
    for (const specifier of importSpecifiers(bytes.toString("utf8"), file)) {
      const target = resolveSpecifier(specifier, file);
      if (target === undefined) continue;
      if (target.kind === "file") files.add(target.path);
      else packages.add(target.id);
    }
    info.files = [...files];
    info.packages = [...packages];
  }
  fileInfos.set(file, info);
  return info;
}

/** Specifiers of static imports, re-exports, `import("literal")` and `require("literal")`. */
function importSpecifiers(source: string, file: string): string[] {
  const found: string[] = [];
  try {
    if (!lexerReady) {
      initSync();
      lexerReady = true;
    }
    const [imports] = parse(source, file);
    for (const i of imports) if (i.n !== undefined) found.push(i.n);
  } catch {
    // Syntax the lexer does not know (JSX in some positions, say): fall back to a plain text scan,
    // which may over-count (an import in a string) but never misses a static import line.
    for (const m of source.matchAll(/\b(?:import|export)\b[^;'"]*?\bfrom\s*(["'])([^"'\n]+)\1|\bimport\s*\(?\s*(["'])([^"'\n]+)\3/g)) found.push((m[2] ?? m[4])!);
  }
  for (const m of source.matchAll(REQUIRE)) found.push(m[2]!);
  return found;
}

type Target = { kind: "file"; path: string } | { kind: "package"; id: string };

function resolveSpecifier(specifier: string, from: string): Target | undefined {
  const spec = specifier.replace(/[?#].*$/, "");
  if (spec.startsWith("node:") || BUILTINS.has(spec) || BUILTINS.has(spec.split("/")[0]!)) return undefined;
  if (spec.startsWith("data:") || /^https?:/.test(spec)) return { kind: "package", id: `url:${spec}` };
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("file:")) {
    const base = spec.startsWith("file:") ? fileURLToPath(spec) : isAbsolute(spec) ? spec : resolve(dirname(from), spec);
    const path = findFile(base);
    if (!path) return { kind: "package", id: `missing:${relative(dirname(from), base).split(sep).join("/")}` };
    return inNodeModules(path) ? packageTarget(path, spec) : { kind: "file", path };
  }
  if (specifier.startsWith("#")) {
    // Subpath imports (package.json "imports") point into the project itself.
    const path = tryResolve(specifier, from);
    return path && !inNodeModules(path) ? { kind: "file", path: findFile(path) ?? path } : { kind: "package", id: `unresolved:${specifier}` };
  }
  return bareTarget(spec, from);
}

/** A package by name: name@version, or its files when it is a workspace link rather than an install. */
function bareTarget(spec: string, from: string): Target {
  const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
  const dir = findPackageDir(name, dirname(from));
  if (!dir) return { kind: "package", id: `unresolved:${name}` };
  const real = realpath(dir);
  if (!inNodeModules(real + sep)) {
    const entry = tryResolve(spec, from);
    if (entry && !inNodeModules(entry) && isFile(entry)) return { kind: "file", path: entry };
  }
  return { kind: "package", id: packageId(dir, name) };
}

function packageTarget(path: string, spec: string): Target {
  let dir = dirname(path);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) {
      const id = packageId(dir, undefined);
      if (!id.startsWith("unnamed:")) return { kind: "package", id };
    }
    const parent = dirname(dir);
    if (parent === dir) return { kind: "package", id: `unresolved:${spec}` };
    dir = parent;
  }
}

function packageId(dir: string, name: string | undefined): string {
  const cached = packageIds.get(dir);
  if (cached) return cached;
  let id: string;
  try {
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
    id = manifest.name ? `${manifest.name}@${manifest.version ?? "0.0.0"}` : `unnamed:${name ?? dir}`;
  } catch {
    id = `unresolved:${name ?? dir}`;
  }
  packageIds.set(dir, id);
  return id;
}

/** Node's lookup: `node_modules/<name>` in this folder and every parent. */
function findPackageDir(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function findFile(base: string): string | undefined {
  const ext = extname(base);
  const candidates = [base, ...(TS_FOR_JS[ext] ?? []).map((e) => base.slice(0, -ext.length) + e), ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => join(base, `index${e}`))];
  for (const candidate of candidates) if (isFile(candidate)) return realpath(candidate);
  return undefined;
}

function tryResolve(specifier: string, from: string): string | undefined {
  try {
    const url = moduleResolve(specifier, pathToFileURL(from));
    return url.protocol === "file:" ? realpath(fileURLToPath(url)) : undefined;
  } catch {
    return undefined;
  }
}

function toPath(fileOrUrl: string): string | undefined {
  try {
    const path = fileOrUrl.startsWith("file:") ? fileURLToPath(fileOrUrl) : fileOrUrl;
    return isAbsolute(path) ? realpath(path) : undefined;
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    // throwIfNoEntry: a miss is the common case while probing extensions; no Error object for it.
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch {
    return false;
  }
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function inNodeModules(path: string): boolean {
  return path.includes(`${sep}node_modules${sep}`);
}
