import { statSync } from "node:fs";
import { resolve, sep } from "node:path";
import { clip, isJsonMode, paint, printJson } from "./output.js";
import { findProject } from "./project.js";

/** A usage or configuration problem found by the CLI itself (exit code 2). */
export class UsageError extends Error {
  readonly hint?: string;
  readonly exitCode: number;
  readonly code: string;
  constructor(message: string, hint?: string, exitCode = 2, code = "E_USAGE") {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
    this.exitCode = exitCode;
    this.code = code;
  }
}

/**
 * OrchError codes that mean "the run failed" or "the backend is unavailable" (try again later) rather
 * than "you asked for something wrong": exit 1, not 2.
 */
const RUN_FAILURE_CODES = new Set(["E_STEP_FAILED", "E_STEP_TIMEOUT", "E_CANCELLED", "E_MATERIALIZER", "E_ARTIFACT_NOT_FOUND", "E_BACKEND_UNAVAILABLE"]);

/** What the CLI prints for an error, on stderr (`error:` / `hint:`) and, with --json, on stdout. */
export interface ErrorReport {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
  /** Not one of ours: a bug (or an environment problem nobody anticipated) — the stack trace helps. */
  unexpected?: boolean;
}

type AnyError = {
  name?: string;
  message?: string;
  hint?: string;
  code?: unknown;
  errno?: unknown;
  syscall?: string;
  path?: string;
  dest?: string;
  stack?: string;
  exitCode?: number;
};

/** What a file-system error code means, and what to do about it. */
const SYSTEM_ERRORS: Record<string, [what: string, hint: string]> = {
  EACCES: ["permission denied", "Check the owner and permissions of that path (ls -ld), or use a path you can write to."],
  EPERM: ["operation not permitted", "Check the owner and permissions of that path (ls -ld), or use a path you can write to."],
  EROFS: ["the file system is read-only", "Use a writable location (e.g. set ORCH_HOME, or the artifact store's --path)."],
  ENOTDIR: ["a part of the path is a file, not a folder", "Remove or rename that file, or use another path."],
  EISDIR: ["it is a folder, not a file", "Give the path of a file."],
  ENOENT: ["no such file or folder", "Check the path."],
  EEXIST: ["it already exists", "Remove it or choose another path."],
  ENOSPC: ["no space left on the device", "Free some disk space and try again."],
  EDQUOT: ["disk quota exceeded", "Free some disk space and try again."],
  ENAMETOOLONG: ["the path is too long", "Use a shorter path."],
  ELOOP: ["too many symbolic links", "Check the symbolic links along the path."],
  EMFILE: ["too many open files", "Raise the limit (ulimit -n) or run fewer things at once."],
  EBUSY: ["the resource is busy", "Try again when the other process is done with it."],
};

/** SQLite errors are about the index file. */
const SQLITE_ERRORS: Record<string, [what: string, hint: string]> = {
  SQLITE_NOTADB: ["it is not an orch index (not a SQLite database)", "Move the file away and run `orch init` to create a new index (registered stacks and the run list are lost; runs stay in the artifact store)."],
  SQLITE_CORRUPT: ["the index is corrupt", "Move the file away and run `orch init` to create a new index (registered stacks and the run list are lost; runs stay in the artifact store)."],
  SQLITE_READONLY: ["the index is read-only", "Make the index and its folder writable (chmod u+w), or run as its owner."],
  SQLITE_CANTOPEN: ["the index cannot be opened", "Check that the .orch folder exists and is readable and writable."],
  SQLITE_FULL: ["the disk is full", "Free some disk space and try again."],
  SQLITE_IOERR: ["reading or writing the index failed", "Check the disk and the permissions of the .orch folder."],
  SQLITE_BUSY: ["the index is locked by another orch process", "Try again when the other command is done."],
  SQLITE_PERM: ["permission denied", "Make the index and its folder writable (chmod u+w), or run as its owner."],
};

/** The first part of `path` that exists and is not a folder (what makes mkdir fail with ENOTDIR/EEXIST). */
function fileInTheWay(path: string): string | undefined {
  let current = "";
  for (const part of resolve(path).split(sep)) {
    current = current === sep || current === "" ? `${sep}${part}` : `${current}${sep}${part}`;
    try {
      if (!statSync(current).isDirectory()) return current;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Classifies any thrown value: our errors, environment errors (a path and what is wrong with it), or bugs. */
export function describeError(error: unknown, indexFile?: string): ErrorReport {
  const e = (typeof error === "object" && error !== null ? error : {}) as AnyError;
  const message = oneLine(e.message ?? String(error)).replace(/^\[orch\] /, "");
  const hint = typeof e.hint === "string" ? oneLine(e.hint) : undefined;
  const code = typeof e.code === "string" ? e.code : undefined;
  if (e.name === "UsageError") return { code: code ?? "E_USAGE", message, ...(hint ? { hint } : {}), exitCode: e.exitCode ?? 2 };
  if (e.name === "OrchError" || e.name === "IndexError") {
    const exitCode = e.name === "OrchError" && code && RUN_FAILURE_CODES.has(code) ? 1 : 2;
    return { code: code ?? "E_ORCH", message, ...(hint ? { hint } : {}), exitCode };
  }
  if (code && SYSTEM_ERRORS[code] && (e.path || e.syscall)) {
    let [what, fix] = code === "EEXIST" && e.syscall === "mkdir" ? ["a file is in the way: the path must be a folder", "Remove or rename that file, or use another path."] : SYSTEM_ERRORS[code];
    const blocker = (code === "ENOTDIR" || code === "EEXIST") && e.path ? fileInTheWay(e.path) : undefined;
    if (blocker) [what, fix] = [`${blocker} is a file, not a folder`, `Remove or rename ${blocker}, or use another path.`];
    const where = e.path ? `${e.syscall ? `${e.syscall} ` : ""}${e.path}${e.dest ? ` → ${e.dest}` : ""}` : (e.syscall ?? "");
    return { code: "E_ENVIRONMENT", message: `Cannot ${where}: ${what} (${code}).`, hint: fix, exitCode: 2 };
  }
  if (e.name === "SqliteError" && code) {
    const [what, fix] = SQLITE_ERRORS[code] ?? SQLITE_ERRORS[/^SQLITE_[A-Z]+/.exec(code)?.[0] ?? ""] ?? [message, "Check the .orch folder."];
    return { code: "E_INDEX", message: `The orch index ${indexFile ?? "(.orch/orch.db)"} cannot be used: ${what} (${code}: ${message}).`, hint: fix, exitCode: 2 };
  }
  return {
    code: "E_INTERNAL",
    message,
    ...(process.env.ORCH_DEBUG ? {} : { hint: "this looks like a bug in orch or a plugin; run again with ORCH_DEBUG=1 for the stack trace" }),
    exitCode: 1,
    unexpected: true,
  };
}

/**
 * Prints an error as `error: …` / `hint: …` (a stack trace only with ORCH_DEBUG=1) and, in --json mode,
 * `{ "error": { code, message, hint } }` on stdout; returns the exit code.
 */
export async function handleError(error: unknown): Promise<number> {
  const report = describeError(error, await indexFile());
  reportError(report, error);
  return report.exitCode;
}

export function reportError(report: ErrorReport, error?: unknown, options: { stderr?: boolean } = {}): void {
  const message = clipUserInput(report.message);
  const hint = report.hint === undefined ? undefined : clipUserInput(report.hint);
  if (options.stderr !== false) {
    process.stderr.write(`${paint.red("error:")} ${message}\n`);
    if (hint) process.stderr.write(`${paint.dim("hint:")} ${hint}\n`);
  }
  const stack = (error as { stack?: unknown } | undefined)?.stack;
  if (process.env.ORCH_DEBUG && typeof stack === "string") process.stderr.write(`${stack}\n`);
  if (isJsonMode()) printJson({ error: { code: report.code, message, ...(hint ? { hint } : {}) } });
}

/** The index file of the project, for naming it in SQLite errors (without opening anything). */
async function indexFile(): Promise<string | undefined> {
  try {
    return findProject()?.dbFile;
  } catch {
    return undefined;
  }
}

/**
 * Shortens every command-line argument longer than 80 characters where a message echoes it (a
 * 10,000-character name is shown as its first 79 characters and "…"): errors come from core, the
 * index and plugins, which cannot know what the user typed.
 */
export function clipUserInput(text: string, argv: string[] = process.argv.slice(2)): string {
  let result = text;
  const long = [...new Set(argv.flatMap((arg) => [arg, arg.slice(arg.indexOf("=") + 1)]))].filter((arg) => arg.length > 80).sort((a, b) => b.length - a.length);
  for (const arg of long) {
    result = result.split(arg).join(clip(arg));
    const escaped = JSON.stringify(arg).slice(1, -1);
    if (escaped !== arg) result = result.split(escaped).join(JSON.stringify(clip(arg)).slice(1, -1));
  }
  // Anything else huge (a value from a file): no line of an error needs more than this.
  return result.length > 2000 ? clip(result, 2000) : result;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
