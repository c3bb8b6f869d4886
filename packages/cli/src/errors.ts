import { paint } from "./output.js";

/** A usage or configuration problem found by the CLI itself (exit code 2). */
export class UsageError extends Error {
  readonly hint?: string;
  readonly exitCode: number;
  constructor(message: string, hint?: string, exitCode = 2) {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** OrchError codes that mean "the run failed" rather than "you asked for something wrong". */
const RUN_FAILURE_CODES = new Set(["E_STEP_FAILED", "E_STEP_TIMEOUT", "E_CANCELLED", "E_MATERIALIZER", "E_ARTIFACT_NOT_FOUND"]);

/** Prints an error as `error: …` / `hint: …` (a stack trace only with ORCH_DEBUG=1) and returns the exit code. */
export async function handleError(error: unknown): Promise<number> {
  const e = error as { name?: string; message?: string; hint?: string; code?: string; stack?: string; exitCode?: number };
  const known = e?.name === "OrchError" || e?.name === "IndexError" || e?.name === "UsageError";
  const message = oneLine(e?.message ?? String(error)).replace(/^\[orch\] /, "");
  process.stderr.write(`${paint.red("error:")} ${message}\n`);
  if (e?.hint) process.stderr.write(`${paint.dim("hint:")} ${oneLine(e.hint)}\n`);
  if (process.env.ORCH_DEBUG && e?.stack) process.stderr.write(`${e.stack}\n`);
  if (!known) {
    if (!process.env.ORCH_DEBUG) process.stderr.write(`${paint.dim("hint:")} this looks like a bug or an environment problem; run again with ORCH_DEBUG=1 for the stack trace\n`);
    return 1;
  }
  if (e.name === "UsageError") return e.exitCode ?? 2;
  if (e.name === "OrchError" && e.code && RUN_FAILURE_CODES.has(e.code)) return 1;
  return 2;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
