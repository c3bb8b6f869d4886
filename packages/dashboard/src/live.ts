/**
 * Server-sent events for a run page: the journal is read every `pollMs` while the run is going, and
 * what changed since the last look is sent — the run's status line, each step whose status,
 * duration or attempts changed (with the label its DAG node shows), and new bytes of the open step's
 * log. When the run is over, a last update and `end` are sent and the stream closes. Polling the
 * journal works the same for every flavor and store; a run of 1,000 steps costs one listing of its
 * step records per interval, and only while someone watches.
 */
import type { ServerResponse } from "node:http";
import type { DashboardData } from "./data.js";
import { nodeLabel } from "./dag.js";
import { formatDuration } from "./format.js";
import { nodeState, runSummary } from "./pages/run.js";

export interface FollowOptions {
  pollMs: number;
  /** Stream this step's log too, from byte `logFrom` on. */
  logStep?: string | undefined;
  logFrom?: number | undefined;
  signal: AbortSignal;
}

export async function followRun(data: DashboardData, runId: string, res: ServerResponse, options: FollowOptions): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
  const send = (event: string, payload: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
  res.write("retry: 2000\n\n");
  const sent = new Map<string, string>();
  let lastRun = "";
  let logOffset = options.logFrom ?? 0;
  while (!options.signal.aborted) {
    const started = performance.now();
    const view = await data.runView(runId, { journal: true });
    // A big run's journal costs more to read: look less often rather than read all the time.
    const readMs = performance.now() - started;
    if (!view) {
      send("gone", { runId });
      break;
    }
    const steps: { id: string; status: string; label: string; duration: string }[] = [];
    for (const id of view.order) {
      const state = nodeState(view.steps.get(id));
      const label = nodeLabel(state);
      if (sent.get(id) === label) continue;
      sent.set(id, label);
      steps.push({ id, status: state.status, label, duration: formatDuration(state.durationMs) });
    }
    const summary = runSummary(view);
    const runLine = JSON.stringify(summary);
    if (steps.length || runLine !== lastRun) {
      lastRun = runLine;
      send("state", { run: { ...summary, error: view.run.error?.message.split("\n")[0] }, steps, nodes: view.order.length });
    }
    if (options.logStep) {
      const log = await data.log(view.run, options.logStep, logOffset);
      if (log.size > logOffset) {
        // Only whole lines while the step is running (a line being written is sent when complete).
        const stepRunning = view.steps.get(options.logStep)?.status === "running";
        const end = stepRunning ? log.text.lastIndexOf("\n") + 1 : log.text.length;
        if (end > 0) {
          const chunk = log.text.slice(0, end);
          send("log", { step: options.logStep, text: chunk, truncated: log.truncated });
          logOffset = log.truncated ? log.size - Buffer.byteLength(log.text.slice(end)) : logOffset + Buffer.byteLength(chunk);
        }
      }
    }
    if (view.run.status !== "running") {
      send("end", { status: summary.status });
      break;
    }
    await sleep(Math.max(options.pollMs, 2 * readMs), options.signal);
  }
  res.end();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}
