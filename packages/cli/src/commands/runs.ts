import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import type { OrchIndex, RunRow, StepRow } from "@orch/store-sqlite";
import { displayStatus, goneOwner, localJournal, type Project, openProjectIndex, reconcileRuns, requireProject, requireRun, syncRemoteJournals, syncRunsFromJournals } from "../context.js";
import { UsageError } from "../errors.js";
import { reconcileRemoteRuns } from "../remote-runs.js";
import { STATUS_ICON, displayFlavor, duration, note, out, paint, printJson, printJsonLine, since, statusText, table } from "../output.js";

interface ListOptions {
  pipeline?: string;
  status?: string;
  stack?: string;
  limit?: string;
  all?: boolean;
  json?: boolean;
  sync?: boolean;
}

const STATUSES = ["running", "succeeded", "failed", "stopped", "interrupted"];

function stepSummary(run: RunRow): string {
  const counts = run.stepCounts ?? {};
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const done = (counts.succeeded ?? 0) + (counts.cached ?? 0);
  return total ? `${done}/${total}` : "-";
}

const runJson = (run: RunRow) => ({ ...run, ...(run.orchestrator ? { orchestrator: displayFlavor(run.orchestrator) } : {}), status: run.status, interrupted: Boolean(run.interrupted), displayStatus: displayStatus(run) });

export async function list(options: ListOptions): Promise<number> {
  if (options.status && !STATUSES.includes(options.status)) throw new UsageError(`Unknown status "${options.status}".`, `Use one of: ${STATUSES.join(", ")}.`);
  const limit = options.all ? -1 : Number(options.limit ?? 50);
  if (!Number.isInteger(limit) || (limit < 1 && !options.all)) throw new UsageError(`--limit must be a positive integer, got "${options.limit}".`, "For example --limit 20, or --all.");
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    // Runs started without the CLI (pipeline.run(), native schedulers) are only in the journal.
    syncRunsFromJournals(index, project, { full: Boolean(options.sync) });
    if (options.sync) await syncRemoteJournals(index, project, (message) => note(`warning: ${message}`));
    await reconcileRemoteRuns(index, project, reconcileRuns(index));
    const runs = index.listRuns({ limit, ...(options.pipeline ? { pipeline: options.pipeline } : {}), ...(options.status ? { status: options.status } : {}), ...(options.stack ? { stack: options.stack } : {}) });
    if (options.json) {
      printJson(runs.map(runJson));
      return 0;
    }
    if (!runs.length) {
      out("No runs yet. Start one: orch pipeline run FILE");
      return 0;
    }
    out(
      table(
        ["RUN ID", "PIPELINE", "STACK", "STATUS", "STEPS", "STARTED", "DURATION"],
        runs.map((r) => [r.runId, r.pipeline, r.stack ?? "-", statusText(displayStatus(r)), stepSummary(r), r.startedAt.replace("T", " ").slice(0, 19), duration(since(r.startedAt, r.finishedAt))]),
      ),
    );
    return 0;
  } finally {
    index.close();
  }
}

export async function show(id: string, options: { json?: boolean }): Promise<number> {
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    let run = requireRun(index, id, project);
    if (run.status === "running") {
      await reconcileRemoteRuns(index, project, reconcileRuns(index, [run]));
      run = index.getRun(run.runId)!;
    }
    const steps = index.getSteps(run.runId);
    const snapshot = localJournal(run)?.readSnapshot();
    // The run's page in its backend's UI: recorded at submit (run.json), or asked of the plugin.
    const url = run.url ?? (await backendUrl(run, index, project));
    const byId = new Map(steps.map((s) => [s.stepId, s]));
    // (a set: the snapshot of a resumed dynamic run can list a step twice)
    const order = [...new Set(snapshot?.order ?? steps.map((s) => s.stepId))];
    for (const s of steps) if (!order.includes(s.stepId)) order.push(s.stepId);
    const upstream = (stepId: string) => snapshot?.steps[stepId]?.upstream ?? [];
    if (options.json) {
      printJson({
        run: { ...runJson(run), ...(url ? { url } : {}) },
        steps: order.map((stepId) => {
          const s = byId.get(stepId);
          return { id: stepId, name: s?.name ?? snapshot?.steps[stepId]?.name, status: s?.status ?? "pending", upstream: upstream(stepId), durationMs: stepDuration(s), attempts: s?.attempts ?? 0, startedAt: s?.startedAt, finishedAt: s?.finishedAt, cachedFrom: s?.cachedFrom, error: s?.error };
        }),
      });
      return 0;
    }
    out(`${paint.bold(`Run ${run.runId}`, process.stdout)}  pipeline ${run.pipeline}  stack ${run.stack ?? "-"}  ${statusText(displayStatus(run))}  ${duration(since(run.startedAt, run.finishedAt))}`);
    if (run.error) out(`  ${paint.red("error:", process.stdout)} ${run.error.message.split("\n")[0]}`);
    if (url) out(`  url: ${url}`);
    out("");
    const depth = new Map<string, number>();
    const rows: string[][] = [];
    for (const stepId of order) {
      const ups = upstream(stepId);
      const d = Math.max(-1, ...ups.map((u) => depth.get(u) ?? 0)) + 1;
      depth.set(stepId, d);
      const s = byId.get(stepId);
      const status = s?.status ?? "pending";
      const icon = STATUS_ICON[status] ?? "·";
      const prefix = d === 0 ? "" : `${"  ".repeat(d - 1)}└─`;
      rows.push([`${prefix}${icon} ${stepId}`, statusText(status), duration(stepDuration(s)), ups.length ? `← ${ups.join(", ")}` : ""]);
    }
    out(table(["STEP", "STATUS", "DURATION", "NEEDS"], rows));
    const failed = steps.filter((s) => s.status === "failed" && s.error);
    for (const s of failed) out(`\n${paint.red(`${s.stepId}:`, process.stdout)} ${s.error!.message.split("\n")[0]}  (orch run logs ${run.runId} --step ${s.stepId})`);
    return 0;
  } finally {
    index.close();
  }
}

/**
 * The run's page in its backend's own UI (Azure ML studio, a console), when its orchestrator has one.
 * Only runs of remote flavors ask (that loads the plugin); a backend that cannot be loaded shows none.
 */
async function backendUrl(run: RunRow, index: OrchIndex, project: Project): Promise<string | undefined> {
  if (!run.orchestrator || JOURNAL_LOG_FLAVORS.has(run.orchestrator)) return undefined;
  try {
    const { orchestratorForRun } = await import("./run-control.js");
    const { orchestrator } = await orchestratorForRun(run, index, project);
    try {
      return await orchestrator.runUrl?.(run.runId);
    } finally {
      await orchestrator.dispose?.();
    }
  } catch {
    return undefined;
  }
}

function stepDuration(step: StepRow | undefined): number | undefined {
  if (!step) return undefined;
  if (step.durationMs !== undefined) return step.durationMs;
  if (step.status === "running") return since(step.startedAt);
  return step.finishedAt ? since(step.startedAt, step.finishedAt) : undefined;
}

/** Flavors whose steps' whole output lands in the journal's log files (in-process, or synced from containers). */
const JOURNAL_LOG_FLAVORS = new Set(["local", "local_docker", "local-docker"]);

/** `run logs --json`: one JSON object per line, `{ "step": …, "line": … }` (a stream: it can follow a run). */
type LogsOptions = { step?: string; follow?: boolean; json?: boolean };

function printLogLine(stepId: string, line: string, options: LogsOptions, prefix: string): void {
  if (options.json) printJsonLine({ step: stepId, line });
  else out(`${prefix}${line}`);
}

export async function logs(id: string, options: LogsOptions): Promise<number> {
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    let run = requireRun(index, id, project);
    const journal = localJournal(run);
    if (!journal) {
      try {
        return await remoteLogs(run, options, index, project);
      } catch (error) {
        // The stack it ran on is not registered here (a run synced from a bucket): the journal's logs
        // in that bucket still tell what each step logged.
        if (!(error instanceof UsageError)) throw error;
        note(`${error.message} Showing the run's journal log only.`);
        return await storeLogs(run, options, index, project, error);
      }
    }
    // Steps that ran elsewhere (a pod) wrote more than the journal's log holds: ask their orchestrator,
    // whose logs() merges its own output with the journal's lines. Without it (stack gone), the journal.
    if (run.orchestrator && !JOURNAL_LOG_FLAVORS.has(run.orchestrator)) {
      try {
        return await remoteLogs(run, options, index, project);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        note(`${error.message} Showing the run's journal log only.`);
      }
    }
    const stepIds = () => {
      const ids = journal.readSnapshot()?.order ?? index.getSteps(run.runId).map((s) => s.stepId);
      if (options.step && !ids.includes(options.step)) throw new UsageError(`Run ${run.runId} has no step "${options.step}".`, `Steps: ${ids.join(", ") || "none yet"}.`);
      return options.step ? [options.step] : ids;
    };
    const offsets = new Map<string, number>();
    const prefix = !options.step;
    const drain = () => {
      for (const stepId of stepIds()) {
        const file = journal.logFile(stepId);
        if (!existsSync(file)) continue;
        const size = statSync(file).size;
        const from = offsets.get(stepId) ?? 0;
        if (size <= from) continue;
        const text = readFileSync(file).subarray(from, size).toString("utf8");
        const complete = text.lastIndexOf("\n") + 1;
        if (!complete && run.status === "running") continue;
        const chunk = run.status === "running" ? text.slice(0, complete) : text;
        offsets.set(stepId, from + Buffer.byteLength(chunk));
        for (const line of chunk.split("\n")) if (line) printLogLine(stepId, line, options, prefix ? `${paint.dim(`${stepId} |`, process.stdout)} ` : "");
      }
    };
    drain();
    while (options.follow && run.status === "running") {
      await new Promise((r) => setTimeout(r, 300));
      reconcileRuns(index, [run]);
      run = index.getRun(run.runId)!;
      drain();
    }
    if (options.follow) drain();
    return 0;
  } finally {
    index.close();
  }
}

/** The step logs of a run's journal in a registered remote artifact store (the one whose uri is the run's). */
async function storeLogs(run: RunRow, options: LogsOptions, index: ReturnType<typeof openProjectIndex>, project: ReturnType<typeof requireProject>, why: UsageError): Promise<number> {
  const core = await import("@orch/core/host");
  const candidates = index.listComponents("artifact-store").filter((c) => (c.package || c.flavor.replace(/_/g, "-") !== "local") && c.flavor.replace(/_/g, "-") === run.storeFlavor?.replace(/_/g, "-"));
  for (const component of candidates) {
    const { store } = await core.createArtifactStore({ name: component.name, flavor: component.flavor, config: component.config, ...(component.package ? { package: component.package } : {}) }, project.root);
    if (store.uri !== run.storeUri) continue;
    const ids = index.getSteps(run.runId).map((s) => s.stepId);
    if (options.step && !ids.includes(options.step)) throw new UsageError(`Run ${run.runId} has no step "${options.step}".`, `Steps: ${ids.join(", ") || "none yet"}.`);
    for (const stepId of options.step ? [options.step] : ids) {
      const bytes = await store.read(core.journalKeys.log(run.runId, stepId));
      const text = bytes ? Buffer.from(bytes).toString("utf8") : "";
      for (const line of text.split("\n")) if (line) printLogLine(stepId, line, options, options.step ? "" : `${paint.dim(`${stepId} |`, process.stdout)} `);
    }
    return 0;
  }
  throw new UsageError(`${why.message} Its journal is in ${run.storeUri ?? "an artifact store"}, which no registered artifact store opens.`, why.hint ?? `Register that store (orch artifact-store register …) or the stack ${run.stack ?? ""}.`);
}

async function remoteLogs(run: RunRow, options: LogsOptions, index: ReturnType<typeof openProjectIndex>, project: ReturnType<typeof requireProject>): Promise<number> {
  const { orchestratorForRun } = await import("./run-control.js");
  const { orchestrator } = await orchestratorForRun(run, index, project);
  try {
    if (!orchestrator.logs) throw new UsageError(`The ${orchestrator.flavor} orchestrator cannot fetch logs.`, "Look at the run in the backend's own UI.");
    const steps = options.step ? [options.step] : index.getSteps(run.runId).map((s) => s.stepId);
    for (const stepId of steps) for await (const line of orchestrator.logs(run.runId, stepId, { follow: Boolean(options.follow) })) printLogLine(stepId, line, options, options.step ? "" : `${stepId} | `);
    return 0;
  } finally {
    await orchestrator.dispose?.();
  }
}

export async function stop(id: string, options: { json?: boolean; grace?: string } = {}): Promise<number> {
  const graceSeconds = options.grace === undefined ? undefined : Number(options.grace);
  if (graceSeconds !== undefined && !(Number.isFinite(graceSeconds) && graceSeconds >= 0)) {
    throw new UsageError(`--grace must be a number of seconds (0 or more), got "${options.grace}".`, "For example --grace 30.");
  }
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    const run = requireRun(index, id, project, { reconcile: false });
    if (run.status !== "running") throw new UsageError(`Run ${run.runId} is not running (status: ${displayStatus(run)}).`, run.status === "succeeded" ? "Nothing to stop." : `Resume it with: orch run resume ${run.runId}`);
    // Its process is already gone (and its pid maybe reused): nothing to signal; the stop is recorded at once.
    const gone = goneOwner(run);
    if (gone) {
      const message = `stopped: the process that ran it (pid ${gone.pid} on ${gone.host}) had already ended`;
      localJournal(run)?.markEnded("stopped", message, "E_CANCELLED");
      index.markStopped(run.runId, message);
      out(`Run ${run.runId} stopped (its process, pid ${gone.pid}, had already ended).`);
      // Still let the orchestrator clean up what the dead process left (step containers …); the run
      // is recorded stopped already, so it does not wait for it.
      try {
        const { orchestratorForRun } = await import("./run-control.js");
        const { orchestrator } = await orchestratorForRun(run, index, project);
        try {
          await orchestrator.stop?.(run.runId);
        } finally {
          await orchestrator.dispose?.();
        }
      } catch {
        // best effort
      }
      return 0;
    }
    const { orchestratorForRun } = await import("./run-control.js");
    const { orchestrator } = await orchestratorForRun(run, index, project);
    try {
      if (!orchestrator.stop) throw new UsageError(`The ${orchestrator.flavor} orchestrator cannot stop runs.`, "Stop it in the backend's own UI.");
      note(`Asked run ${run.runId} to stop; waiting for it to end…`);
      // Local flavors: the driving process is killed if it does not end the run within the grace period.
      await orchestrator.stop(run.runId, graceSeconds === undefined ? undefined : { graceSeconds });
    } finally {
      await orchestrator.dispose?.();
    }
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      reconcileRuns(index, [index.getRun(run.runId)!]);
      const now = index.getRun(run.runId)!;
      if (now.status !== "running") {
        if (options.json) printJson({ runId: run.runId, status: now.status, displayStatus: displayStatus(now), ...(now.error ? { error: now.error } : {}) });
        else {
          out(`Run ${run.runId} ${displayStatus(now)}.`);
          if (now.status === "stopped" && now.error) note(now.error.message); // e.g. its process had to be killed
        }
        return 0;
      }
    }
    if (options.json) printJson({ runId: run.runId, status: "running", stopping: true });
    else out(`Run ${run.runId} is still stopping (running steps finish or notice the stop); check with orch run show ${run.runId}.`);
    return 0;
  } finally {
    index.close();
  }
}

export async function resume(id: string, options: { json?: boolean }): Promise<number> {
  const { resumeRun } = await import("./run-control.js");
  return resumeRun(id, options);
}

export function remove(id: string, options: { json?: boolean } = {}): number {
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    const run = requireRun(index, id, project);
    if (run.status === "running") throw new UsageError(`Run ${run.runId} is still running.`, `Stop it first: orch run stop ${run.runId}`);
    const journal = localJournal(run);
    index.deleteRun(run.runId);
    if (journal) rmSync(journal.dir, { recursive: true, force: true });
    if (options.json) printJson({ runId: run.runId, deleted: true, journalDeleted: Boolean(journal) });
    else out(`Deleted run ${run.runId}${journal ? " and its journal" : " from the index (its journal in the remote artifact store is kept)"}.`);
    return 0;
  } finally {
    index.close();
  }
}
