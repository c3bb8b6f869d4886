import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** This package's folder (src/ and dist/ both sit one level below it): frames in here are orch's, not the user's. */
const CORE_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * The user's own code location in an error's stack: the first frame outside node's internals,
 * node_modules and @orch/core, as `path:line:column` (relative to `root` when inside it).
 */
export function userFrame(error: unknown, root: string = process.cwd()): string | undefined {
  const stack = (error as { stack?: unknown } | null)?.stack;
  if (typeof stack !== "string") return undefined;
  for (const line of stack.split("\n").slice(1)) {
    const match = /^\s*at (?:.*?\()?(.+?):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!match) continue;
    let file = match[1]!;
    if (file.startsWith("file://")) file = fileURLToPath(file);
    if (file.startsWith("node:") || !file.includes(sep) || file.includes(`${sep}node_modules${sep}`) || file.startsWith(CORE_DIR)) continue;
    const shown = file.startsWith(root + sep) ? relative(root, file).split(sep).join("/") : file;
    return `${shown}:${match[2]}:${match[3]}`;
  }
  return undefined;
}
