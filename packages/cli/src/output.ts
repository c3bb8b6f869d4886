/** Terminal output helpers: colours (off for NO_COLOR and non-TTY output), tables, JSON. */
const colorOn = (stream: NodeJS.WriteStream) =>
  !("NO_COLOR" in process.env && process.env.NO_COLOR !== "") && (Boolean(process.env.FORCE_COLOR && process.env.FORCE_COLOR !== "0") || stream.isTTY === true);

const wrap = (open: number, close: number) => (text: string, stream: NodeJS.WriteStream = process.stderr) =>
  colorOn(stream) ? `\u001b[${open}m${text}\u001b[${close}m` : text;

export const paint = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  blue: wrap(34, 39),
  cyan: wrap(36, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
};

/**
 * stdout as it was when the CLI started. In `--json` mode the CLI reserves stdout for its JSON
 * document: `process.stdout.write` (and so `console.log` of user code, in this process or piped
 * from worker threads) is pointed at stderr, and only `printJson` writes here.
 */
const stdoutWrite = process.stdout.write.bind(process.stdout) as (text: string) => boolean;
let jsonMode = false;

/** Is this command printing JSON (`--json`)? */
export const isJsonMode = () => jsonMode;

const originalWrite = process.stdout.write;

/** From now on stdout holds nothing but JSON: every other write to it goes to stderr. */
export function reserveStdoutForJson(): void {
  if (jsonMode) return;
  jsonMode = true;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}

/** Gives stdout back (when `main()` is embedded in a longer-lived process). */
export function releaseStdout(): void {
  if (!jsonMode) return;
  jsonMode = false;
  process.stdout.write = originalWrite;
}

/** A line of human output: stdout, or stderr while stdout is reserved for JSON. */
export const out = (text = "") => (jsonMode ? process.stderr.write(`${text}\n`) : stdoutWrite(`${text}\n`));
export const note = (text: string) => process.stderr.write(`${text}\n`);
/** One JSON document on stdout (the only thing a `--json` command prints there, besides JSON lines). */
export const printJson = (value: unknown) => stdoutWrite(`${JSON.stringify(value, null, 2)}\n`);
/** One compact JSON value per line (streams: `run logs --json`). */
export const printJsonLine = (value: unknown) => stdoutWrite(`${JSON.stringify(value)}\n`);
/** Writes to the real stdout (commander's help text). */
export const writeStdout = (text: string) => stdoutWrite(text);

/** `JSON.stringify` of user input, shortened to `max` characters with "…" (a 10,000-character name is not echoed in full). */
export function quote(input: string, max = 80): string {
  return JSON.stringify(clip(input, max));
}

/** User input shortened to `max` characters with "…". */
export function clip(input: string, max = 80): string {
  const chars = [...input];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : input;
}

/**
 * The seed's flavor id users type and read (`local_docker`) for a canonical plugin id (`local-docker`),
 * as core's `displayFlavor` (kept here so listing commands need not load core).
 */
export function displayFlavor(flavor: string): string {
  return flavor.trim().toLowerCase().replace(/-/g, "_");
}

const ANSI = /\u001b\[[0-9;]*m/g;
const visible = (text: string) => text.replace(ANSI, "").length;

/** A plain aligned table, header first. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(Math.max(0, widths[i]! - visible(c)))))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => paint.bold(h, process.stdout))), ...rows.map(line)].join("\n");
}

/** Colours a run/step status for stdout. */
export function statusText(status: string, stream: NodeJS.WriteStream = process.stdout): string {
  switch (status) {
    case "succeeded":
    case "done":
      return paint.green(status, stream);
    case "cached":
      return paint.cyan(status, stream);
    case "running":
      return paint.blue(status, stream);
    case "failed":
    case "failed (interrupted)":
    case "interrupted":
      return paint.red(status, stream);
    case "stopped":
    case "skipped":
      return paint.yellow(status, stream);
    default:
      return paint.dim(status, stream);
  }
}

export const STATUS_ICON: Record<string, string> = {
  pending: "○",
  running: "◐",
  succeeded: "✓",
  cached: "↺",
  failed: "✗",
  skipped: "–",
  stopped: "■",
};

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function since(startedAt: string | undefined, finishedAt?: string): number | undefined {
  if (!startedAt) return undefined;
  return (finishedAt ? Date.parse(finishedAt) : Date.now()) - Date.parse(startedAt);
}
