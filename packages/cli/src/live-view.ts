/**
 * The live view of a run. On a terminal: a block redrawn in place that is never taller than the
 * terminal — one summary line (counts by status), then the failures, the running steps and the most
 * recently finished ones, as many as fit. Otherwise: one plain line per step status change.
 * Writes to stderr so that stdout stays clean for --json.
 *
 * Cost: the block is redrawn only when something changed, at most every REDRAW_MS (and once a second
 * while steps run, for their timers), so the bytes written grow with the number of status changes and
 * never with the number of steps times the number of updates (a 1,000-step run once printed 61 MB).
 */
import type { RunObserver, Snapshot, StepRecord } from "@orch/core";
import { STATUS_ICON, duration, paint, since } from "./output.js";

/** Coalesces bursts of status changes into one redraw. */
const REDRAW_MS = 100;
/** Running steps' timers tick this often when nothing else changes. */
const TICK_MS = 1000;
/** How many finished steps stay visible (fewer when the terminal is short). */
const RECENT = 5;

interface StepView {
  id: string;
  status: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
}

const FINISHED = new Set(["succeeded", "cached", "failed", "skipped", "stopped"]);
const SUMMARY_ORDER = ["succeeded", "cached", "running", "failed", "skipped", "stopped", "pending"] as const;

export function createLiveView(options: { stream?: NodeJS.WriteStream; quiet?: boolean } = {}): RunObserver & { close(): void } {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true && process.env.TERM !== "dumb" && !process.env.ORCH_PLAIN;
  const steps = new Map<string, StepView>();
  const counts = new Map<string, number>();
  const running = new Set<string>(); // insertion order: oldest first
  const failures: string[] = [];
  const recent: string[] = []; // most recent last
  let drawn = 0;
  let dirty = false;
  let lastDraw = 0;
  let redrawTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  let runId = "";
  let startedAt = Date.now();

  const label = (status: string) => (status === "succeeded" ? "done" : status);
  const line = (s: StepView) => {
    const icon = STATUS_ICON[s.status] ?? "·";
    const took = s.durationMs ?? (s.status === "running" ? since(s.startedAt) : s.finishedAt ? since(s.startedAt, s.finishedAt) : undefined);
    const color = s.status === "failed" ? paint.red : s.status === "running" ? paint.blue : s.status === "cached" ? paint.cyan : s.status === "succeeded" ? paint.green : paint.dim;
    return `${color(`${icon} ${s.id}`, stream)}  ${color(label(s.status), stream)}${took !== undefined ? paint.dim(`  ${duration(took)}`, stream) : ""}`;
  };
  const count = (status: string, delta: number) => counts.set(status, (counts.get(status) ?? 0) + delta);

  /** The block as lines, at most `height` of them. */
  const block = (height: number): string[] => {
    const parts = SUMMARY_ORDER.filter((s) => counts.get(s)).map((s) => `${counts.get(s)} ${label(s)}`);
    const summary = `${paint.bold(`${steps.size} steps`, stream)}: ${parts.join(" · ")}  ${paint.dim(duration(Date.now() - startedAt), stream)}`;
    const lines = [summary];
    const room = () => height - lines.length;
    const more = (n: number, what: string) => paint.dim(`  … ${n} more ${what}`, stream);
    const section = (ids: readonly string[], what: string, limit: number) => {
      if (ids.length === 0 || room() <= 0) return;
      const fits = Math.min(limit, room());
      const shown = ids.length <= fits ? ids : ids.slice(0, Math.max(0, fits - 1));
      for (const id of shown) lines.push(`  ${line(steps.get(id)!)}`);
      if (shown.length < ids.length) lines.push(more(ids.length - shown.length, what));
    };
    // Failures first (they matter most), but they leave room for the running steps.
    section(failures, "failed", Math.max(1, Math.floor((height - 1) / 3)));
    section([...running], "running", Math.max(1, room() - Math.min(RECENT, recent.length)));
    section(recent.slice(-Math.min(RECENT, room())).reverse(), "finished", RECENT);
    return lines;
  };

  const draw = () => {
    if (redrawTimer) clearTimeout(redrawTimer);
    redrawTimer = undefined;
    if (!tty || options.quiet) return;
    dirty = false;
    lastDraw = Date.now();
    // One line less than the terminal, so the block never scrolls its own top line away.
    const height = Math.max(2, (stream.rows || 24) - 1);
    const width = Math.max(20, stream.columns || 80);
    const lines = block(height).map((l) => (visibleLength(l) > width ? truncate(l, width - 1) : l));
    let text = drawn ? `\u001b[${drawn}A` : "";
    text += lines.map((l) => `\u001b[2K${l}\n`).join("");
    // A shorter block than last time: clear what is left below it.
    if (lines.length < drawn) text += "\u001b[0J";
    drawn = lines.length;
    stream.write(text);
  };
  /** Something changed: redraw now if the last redraw is old enough, else once the interval is over. */
  const changed = () => {
    dirty = true;
    if (!tty || options.quiet || redrawTimer) return;
    const wait = REDRAW_MS - (Date.now() - lastDraw);
    if (wait <= 0) draw();
    else {
      redrawTimer = setTimeout(draw, wait);
      redrawTimer.unref();
    }
  };
  const clear = () => {
    if (!tty || !drawn) return;
    stream.write(`\u001b[${drawn}A\u001b[0J`);
    drawn = 0;
  };

  return {
    runStarted(run, snapshot: Snapshot) {
      runId = run.runId;
      startedAt = Date.parse(run.startedAt) || Date.now();
      for (const id of snapshot.order) {
        if (steps.has(id)) continue;
        steps.set(id, { id, status: "pending" });
        count("pending", 1);
      }
      if (options.quiet) return;
      stream.write(`${paint.bold(`Run ${run.runId}`, stream)} ${paint.dim(`pipeline ${run.pipeline} on stack ${run.stack ?? "?"}`, stream)}\n`);
      if (tty) {
        draw();
        // Running steps' timers; a redraw only when something runs (or changed).
        tickTimer = setInterval(() => {
          if (dirty || running.size > 0) draw();
        }, TICK_MS);
        tickTimer.unref();
      }
    },
    stepUpdated(record: StepRecord) {
      const previous = steps.get(record.stepId);
      const view: StepView = {
        id: record.stepId,
        status: record.status,
        ...(record.startedAt ? { startedAt: record.startedAt } : {}),
        ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
        ...(record.durationMs !== undefined ? { durationMs: record.durationMs } : {}),
      };
      steps.set(record.stepId, view);
      if (previous?.status === record.status) return;
      if (previous) count(previous.status, -1);
      count(record.status, 1);
      running.delete(record.stepId);
      if (record.status === "running") running.add(record.stepId);
      else if (record.status === "failed") failures.push(record.stepId);
      else if (FINISHED.has(record.status)) {
        recent.push(record.stepId);
        if (recent.length > RECENT * 4) recent.splice(0, recent.length - RECENT);
      }
      if (options.quiet) return;
      if (tty) changed();
      else stream.write(`${line(view)}\n`);
    },
    logLine(stepId, text) {
      if (options.quiet) return;
      clear();
      stream.write(`${paint.dim(`${stepId} |`, stream)} ${text}\n`);
      changed();
    },
    runFinished(run) {
      if (tickTimer) clearInterval(tickTimer);
      tickTimer = undefined;
      if (options.quiet) return;
      draw();
      drawn = 0;
      const took = duration(since(run.startedAt, run.finishedAt));
      const status = run.status === "succeeded" ? paint.green("succeeded", stream) : paint.red(run.status, stream);
      stream.write(`Run ${runId} ${status} in ${took}\n`);
    },
    close() {
      if (tickTimer) clearInterval(tickTimer);
      if (redrawTimer) clearTimeout(redrawTimer);
    },
  };
}

// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string) => text.replace(ESCAPES, "").length;

/** Cuts a line to `width` visible characters (keeping colour codes, resetting at the end). */
function truncate(text: string, width: number): string {
  let out = "";
  let visible = 0;
  for (let i = 0; i < text.length && visible < width; ) {
    const match = /^\u001b\[[0-9;]*m/.exec(text.slice(i));
    if (match) {
      out += match[0];
      i += match[0].length;
    } else {
      out += text[i];
      visible++;
      i++;
    }
  }
  return `${out}\u001b[0m`;
}
