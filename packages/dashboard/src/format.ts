/** Small display helpers shared by the pages and the DAG. */

/** Status glyphs: every status is shown as icon + word, never by colour alone. */
export const STATUS_ICON: Record<string, string> = {
  pending: "○",
  running: "◐",
  succeeded: "✓",
  cached: "↺",
  failed: "✗",
  skipped: "−",
  stopped: "■",
  interrupted: "✗",
};

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} m`;
}

export function since(start: string | undefined, end?: string): number | undefined {
  if (!start) return undefined;
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : Date.now();
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, to - from) : undefined;
}

export function formatTime(iso: string | undefined): string {
  return iso ? iso.replace("T", " ").slice(0, 19) : "-";
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "-";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) (value /= 1024), unit++;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "failed (interrupted)" for runs whose process died. */
export function runStatus(run: { status: string; interrupted?: boolean | undefined }): string {
  return run.interrupted && run.status === "failed" ? "interrupted" : run.status;
}
