/**
 * The live view of a run: on a terminal, a block of one line per step (pending / running / cached /
 * done / failed, with timings) redrawn in place; otherwise plain lines as steps change state.
 * Writes to stderr so that stdout stays clean for --json.
 */
import type { RunObserver, Snapshot, StepRecord } from "@orch/core";
import { STATUS_ICON, duration, paint, since } from "./output.js";

interface StepView {
  id: string;
  status: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  depth: number;
}

export function createLiveView(options: { stream?: NodeJS.WriteStream; quiet?: boolean } = {}): RunObserver & { close(): void } {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true && process.env.TERM !== "dumb" && !process.env.ORCH_PLAIN;
  const steps = new Map<string, StepView>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let runId = "";

  const label = (status: string) => (status === "succeeded" ? "done" : status);
  const line = (s: StepView) => {
    const icon = STATUS_ICON[s.status] ?? "·";
    const took = s.durationMs ?? (s.status === "running" ? since(s.startedAt) : s.finishedAt ? since(s.startedAt, s.finishedAt) : undefined);
    const color = s.status === "failed" ? paint.red : s.status === "running" ? paint.blue : s.status === "cached" ? paint.cyan : s.status === "succeeded" ? paint.green : paint.dim;
    return `  ${"  ".repeat(s.depth)}${color(`${icon} ${s.id}`, stream)}  ${color(label(s.status), stream)}${took !== undefined ? paint.dim(`  ${duration(took)}`, stream) : ""}`;
  };
  const draw = () => {
    if (!tty || options.quiet) return;
    let text = drawn ? `\u001b[${drawn}A` : "";
    const lines = [...steps.values()].map(line);
    text += lines.map((l) => `\u001b[2K${l}\n`).join("");
    drawn = lines.length;
    stream.write(text);
  };
  const clear = () => {
    if (!tty || !drawn) return;
    stream.write(`\u001b[${drawn}A\u001b[0J`);
    drawn = 0;
  };

  return {
    runStarted(run, snapshot: Snapshot) {
      runId = run.runId;
      const depth = new Map<string, number>();
      for (const id of snapshot.order) {
        const step = snapshot.steps[id]!;
        const d = Math.max(-1, ...step.upstream.map((u) => depth.get(u) ?? 0)) + 1;
        depth.set(id, d);
        if (!steps.has(id)) steps.set(id, { id, status: "pending", depth: d });
      }
      if (options.quiet) return;
      stream.write(`${paint.bold(`Run ${run.runId}`, stream)} ${paint.dim(`pipeline ${run.pipeline} on stack ${run.stack ?? "?"}`, stream)}\n`);
      if (tty) {
        draw();
        timer = setInterval(draw, 250);
        timer.unref();
      }
    },
    stepUpdated(record: StepRecord) {
      const previous = steps.get(record.stepId);
      const view: StepView = {
        id: record.stepId,
        status: record.status,
        depth: previous?.depth ?? 0,
        ...(record.startedAt ? { startedAt: record.startedAt } : {}),
        ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
        ...(record.durationMs !== undefined ? { durationMs: record.durationMs } : {}),
      };
      steps.set(record.stepId, view);
      if (options.quiet) return;
      if (tty) draw();
      else if (previous?.status !== record.status) stream.write(`${line({ ...view, depth: 0 }).trimStart()}\n`);
    },
    logLine(stepId, text) {
      if (options.quiet) return;
      clear();
      stream.write(`${paint.dim(`${stepId} |`, stream)} ${text}\n`);
      draw();
    },
    runFinished(run) {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (options.quiet) return;
      draw();
      drawn = 0;
      const took = duration(since(run.startedAt, run.finishedAt));
      const status = run.status === "succeeded" ? paint.green("succeeded", stream) : paint.red(run.status, stream);
      stream.write(`Run ${runId} ${status} in ${took}\n`);
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
