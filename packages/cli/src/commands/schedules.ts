import { spawn, type ChildProcess } from "node:child_process";
import type { OrchIndex, ScheduleRow } from "@orch/store-sqlite";
import { isProcessAlive } from "@orch/core/host/light";
import { openProjectIndex, reconcileRuns, requireProject, type Project } from "../context.js";
import { UsageError } from "../errors.js";
import { note, out, paint, printJson, table } from "../output.js";
import { BIN_PATH } from "../paths.js";
import { describeSchedule } from "./pipelines.js";

/**
 * A schedule as it stands now: one whose endTime has passed (or a run-once that ran) is `ended` and
 * has no next run, even before `orch schedule serve` noticed.
 */
function current(schedule: ScheduleRow, now = new Date()): ScheduleRow {
  const s = schedule.schedule as { endTime?: string };
  const over = schedule.state === "active" && ((s.endTime !== undefined && Date.parse(s.endTime) <= now.getTime()) || (schedule.nextRunAt !== undefined && s.endTime !== undefined && Date.parse(schedule.nextRunAt) > Date.parse(s.endTime)));
  if (over) return { ...schedule, state: "ended", nextRunAt: undefined };
  if (schedule.state !== "active") return { ...schedule, nextRunAt: undefined };
  return schedule;
}

export function list(options: { json?: boolean }): number {
  const index = openProjectIndex(requireProject());
  try {
    const schedules = index.listSchedules().map((s) => current(s));
    if (options.json) printJson(schedules);
    else if (!schedules.length) out("No schedules. A pipeline with a `schedule` is registered by orch pipeline run FILE.");
    else
      out(
        table(
          ["ID", "PIPELINE", "STACK", "TRIGGER", "BY", "STATE", "NEXT RUN", "LAST RUN"],
          schedules.map((s) => [s.id, s.pipeline, s.stack, describeSchedule(s.schedule), s.managedBy === "index" ? "orch schedule serve" : `orchestrator (${s.nativeId ?? "?"})`, s.state, s.nextRunAt ?? "-", s.lastRunId ?? "-"]),
        ),
      );
    return 0;
  } finally {
    index.close();
  }
}

export async function remove(id: string, options: { json?: boolean } = {}): Promise<number> {
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    // The id orch schedule list shows, or the backend's own name for it (the CronJob's, shown under BY).
    const schedule = index.getSchedule(id) ?? index.listSchedules().find((s) => s.nativeId === id);
    if (!schedule) throw new UsageError(`Schedule "${id}" is not registered.`, "List schedules with: orch schedule list");
    id = schedule.id;
    if (schedule.managedBy === "native" && schedule.nativeId) {
      const core = await import("@orch/core/host");
      const { installStackResolver, stackFromIndex } = await import("../runtime.js");
      const context = { index, project, observers: [], resolutions: 0 };
      installStackResolver(context);
      const stack = await core.activateStack(await stackFromIndex(context, schedule.stack), project.root);
      const orchestrator = await stack.orchestrator.plugin.create(stack.orchestrator.config as never, { projectRoot: project.root, stackName: stack.name, artifactStore: stack.artifactStore });
      try {
        await orchestrator.deleteSchedule?.(schedule.nativeId);
      } finally {
        await orchestrator.dispose?.();
      }
    }
    index.deleteSchedule(id);
    if (options.json) printJson({ id, deleted: true });
    else out(`Deleted schedule "${id}".`);
    return 0;
  } finally {
    index.close();
  }
}

/** The first time a schedule is due, from its start. */
async function firstRunAt(schedule: Record<string, any>, now: Date): Promise<Date | undefined> {
  const start = schedule.startTime ? new Date(schedule.startTime) : undefined;
  if (schedule.runOnceAt) return new Date(schedule.runOnceAt);
  if (schedule.intervalSeconds) return start ?? now;
  const { nextCronTimes } = await import("@orch/core/host");
  // catchup: from the start time (missed times since then run); otherwise from now.
  const from = start && (schedule.catchup || start > now) ? new Date(start.getTime() - 1000) : now;
  return nextCronTimes(schedule.cron, from, 1, schedule.timezone)[0];
}

/** The next time after `due` (the time just served), skipping missed times unless catchup. */
async function nextRunAfter(schedule: Record<string, any>, due: Date, now: Date): Promise<Date | undefined> {
  if (schedule.runOnceAt) return undefined;
  if (schedule.intervalSeconds) {
    const step = schedule.intervalSeconds * 1000;
    let next = due.getTime() + step;
    if (!schedule.catchup && next <= now.getTime()) next += Math.ceil((now.getTime() - next + 1) / step) * step;
    return new Date(next);
  }
  const { nextCronTimes } = await import("@orch/core/host");
  return nextCronTimes(schedule.cron, schedule.catchup ? due : now, 1, schedule.timezone)[0];
}

/**
 * orch schedule serve: in the foreground, starts the runs of index-managed schedules as child
 * `orch pipeline run --now` processes. State lives in the index, so a restart carries on.
 */
export async function serve(options: { poll?: string }): Promise<number> {
  const project = requireProject();
  const poll = Number(options.poll ?? 1000);
  if (!Number.isFinite(poll) || poll < 50) throw new UsageError(`--poll must be at least 50 (ms), got "${options.poll}".`, "For example --poll 1000.");
  const index = openProjectIndex(project);
  const children = new Map<string, Set<ChildProcess>>();
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    note("[orch] schedule serve stopping; running pipeline runs are asked to stop");
    for (const set of children.values()) for (const child of set) child.kill("SIGINT");
    wake?.();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const count = index.listSchedules().filter((s) => s.managedBy === "index" && s.state === "active").length;
  note(`[orch] serving ${count} schedule${count === 1 ? "" : "s"} of ${project.root} (Ctrl-C to stop)`);
  try {
    while (!stopping) {
      await tick(index, project, children);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, poll);
      });
    }
    const all = [...children.values()].flatMap((s) => [...s]);
    await Promise.race([Promise.all(all.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r))))), new Promise((r) => setTimeout(r, 15_000).unref())]);
    return 0;
  } finally {
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
    index.close();
  }
}

async function tick(index: OrchIndex, project: Project, children: Map<string, Set<ChildProcess>>): Promise<void> {
  const now = new Date();
  for (const schedule of index.listSchedules()) {
    if (schedule.managedBy !== "index" || schedule.state !== "active") continue;
    const s = schedule.schedule as Record<string, any>;
    const nextRunAt = schedule.nextRunAt ? new Date(schedule.nextRunAt) : await firstRunAt(s, now);
    if (!nextRunAt) {
      index.updateScheduleState(schedule.id, { state: "ended" });
      continue;
    }
    if (!schedule.nextRunAt) index.updateScheduleState(schedule.id, { nextRunAt: nextRunAt.toISOString() });
    if (s.endTime && nextRunAt > new Date(s.endTime)) {
      index.updateScheduleState(schedule.id, { state: "ended" });
      note(`[orch] schedule ${schedule.id} ended (endTime ${s.endTime})`);
      continue;
    }
    if (nextRunAt > now) continue;
    if (!s.allowOverlap && isRunning(schedule, index, children)) continue; // wait for the previous run to finish
    const runId = await startRun(schedule, project, children);
    const next = await nextRunAfter(s, nextRunAt, now);
    index.updateScheduleState(schedule.id, {
      lastRunAt: now.toISOString(),
      lastRunId: runId,
      ...(next ? { nextRunAt: next.toISOString() } : { state: "completed", nextRunAt: undefined }),
    });
  }
}

function isRunning(schedule: ScheduleRow, index: OrchIndex, children: Map<string, Set<ChildProcess>>): boolean {
  if ((children.get(schedule.id)?.size ?? 0) > 0) return true;
  if (!schedule.lastRunId) return false;
  const run = index.getRun(schedule.lastRunId);
  if (!run || run.status !== "running") return false;
  reconcileRuns(index, [run]);
  const after = index.getRun(run.runId);
  return after?.status === "running" && (!after.pid || isProcessAlive(after.pid, after.pidStartTime));
}

async function startRun(schedule: ScheduleRow, project: Project, children: Map<string, Set<ChildProcess>>): Promise<string> {
  const { newRunId } = await import("@orch/core/host");
  const runId = newRunId();
  const args = [BIN_PATH, "pipeline", "run", `${schedule.sourceFile}${schedule.exportName ? `#${schedule.exportName}` : ""}`, "--now", "--stack", schedule.stack, "--run-id", runId, "--schedule-id", schedule.id];
  for (const [key, value] of Object.entries(schedule.parameters)) args.push("--param", `${key}=${JSON.stringify(value)}`);
  note(`[orch] ${new Date().toISOString()} schedule ${schedule.id}: starting run ${runId}`);
  const child = spawn(process.execPath, args, { cwd: project.root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ORCH_PLAIN: "1" } });
  const set = children.get(schedule.id) ?? new Set();
  set.add(child);
  children.set(schedule.id, set);
  const prefix = paint.dim(`${schedule.id} |`);
  const forward = (stream: NodeJS.ReadableStream | null) => {
    let buffer = "";
    stream?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) process.stderr.write(`${prefix} ${line}\n`);
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  child.on("exit", (code) => {
    set.delete(child);
    note(`[orch] schedule ${schedule.id}: run ${runId} ${code === 0 ? "succeeded" : `ended with exit code ${code}`}`);
  });
  return runId;
}
