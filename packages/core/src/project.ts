import { existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project root: the nearest folder upwards holding `.orch/`, else the nearest holding a
 * package.json, else `cwd`. Plugins are resolved and source paths recorded relative to it. With
 * `ORCH_HOME` set, orch's state lives there (anywhere, like ZenML's config path), so only the
 * package.json counts: plugins are installed in the project, not next to the state.
 */
export function findProjectRoot(cwd = process.cwd()): string {
  const start = resolve(cwd);
  if (process.env.ORCH_HOME) return findUp(start, "package.json") ?? start;
  return findUp(start, ".orch") ?? findUp(start, "package.json") ?? start;
}

/** The nearest folder from `start` upwards that holds `name`, or undefined at the filesystem root. */
export function findUp(start: string, name: string): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, name))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** `file:///proj/src/a.ts` → `src/a.ts` (posix separators, stable across machines). */
export function toProjectPath(fileOrUrl: string, projectRoot: string): string {
  const file = fileOrUrl.startsWith("file:") ? fileURLToPath(fileOrUrl) : fileOrUrl;
  return relative(projectRoot, file).split(sep).join("/");
}

/** The file of the code that called the function calling this one (for recording where steps live). */
export function callerFile(depth = 2): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_, callSites) => callSites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, callerFile);
    const sites = holder.stack ?? [];
    return sites[depth - 1]?.getFileName() ?? undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}
