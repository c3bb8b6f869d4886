/**
 * Finding the project (`.orch/` upwards, or ORCH_HOME), opening its index, and reading the journal of
 * runs kept in a local artifact store — without loading @orch/core's runner or plugin loader (only the
 * Node-only `@orch/core/host/light`), so listing commands stay fast.
 */
import { accessSync, appendFileSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { isProcessAlive, parseStepJournal, stepJournalLine } from "@orch/core/host/light";
import { openIndex, type OrchIndex, type RunRow } from "@orch/store-sqlite";
import { UsageError } from "./errors.js";

export { codeRoot, findProject, projectAt, type Project } from "./project.js";
import { findProject, projectAt, type Project } from "./project.js";

export const DEFAULT_ARTIFACTS_PATH = ".orch/artifacts";

export function requireProject(): Project {
  const project = findProject();
  if (!project) {
    throw new UsageError(
      process.env.ORCH_HOME ? `ORCH_HOME points at ${resolve(process.env.ORCH_HOME)}, which does not exist.` : `No .orch/ folder in ${process.cwd()} or any folder above it.`,
      "Run `orch init` in your project's root folder first (or set ORCH_HOME to an existing .orch folder).",
    );
  }
  return project;
}

/** Creates `.orch/` with the index, the default components and the default stack (idempotent). */
export function initProject(root: string, home = join(root, ".orch")): { project: Project; created: boolean } {
  const project = projectAt(root, home);
  const created = !existsSync(project.dbFile);
  // .orch/ holds the index with the components' secrets: only its owner may enter it.
  if (!existsSync(home)) {
    mkdirSync(dirname(home), { recursive: true });
    mkdirSync(home, { mode: 0o700 });
  } else ownerOnly(home, 0o700); // e.g. created by pipeline.run() (the artifact store) before orch init
  mkdirSync(join(home, "artifacts"), { recursive: true });
  if (!existsSync(join(home, ".gitignore"))) writeFileSync(join(home, ".gitignore"), "# orch metadata index and local artifacts\n*\n");
  const index = openIndex(project.dbFile);
  ownerOnly(project.dbFile, 0o600);
  try {
    seedDefaults(index, project);
  } finally {
    index.close();
  }
  return { project, created };
}

/** Tightens a path of ours to `mode` when others may read it (never someone else's path). */
function ownerOnly(path: string, mode: number): void {
  try {
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) chmodSync(path, mode);
  } catch {
    // not ours to fix; opening it reports what is wrong
  }
}

function seedDefaults(index: OrchIndex, project: Project): void {
  index.transaction(() => {
    if (!index.getComponent("orchestrator", "default")) index.putComponent({ kind: "orchestrator", name: "default", flavor: "local", config: {} });
    if (!index.getComponent("artifact-store", "default")) {
      const path = resolve(project.home) === resolve(project.root, ".orch") ? DEFAULT_ARTIFACTS_PATH : join(project.home, "artifacts");
      index.putComponent({ kind: "artifact-store", name: "default", flavor: "local", config: { path } });
    }
    if (!index.getStack("default")) index.putStack({ name: "default", orchestrator: "default", artifactStore: "default" });
  });
}

/**
 * Opens the project's index (creating the default stack if the index is new). An index that cannot be
 * written (read-only file or folder) is opened read-only: listing commands work, changes are refused
 * with E_INDEX_READONLY. A damaged one is refused with E_INDEX_CORRUPT (see `orch init --repair`).
 */
export function openProjectIndex(project: Project): OrchIndex {
  const fresh = !existsSync(project.dbFile);
  const readonly = !fresh && !writable(project.dbFile, project.home);
  const index = openIndex(project.dbFile, { readonly });
  if (!readonly && (fresh || !index.getStack("default"))) seedDefaults(index, project);
  return index;
}

function writable(file: string, dir: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    accessSync(dir, constants.W_OK); // SQLite writes its -wal and -shm files next to the index
    return true;
  } catch {
    return false;
  }
}

// ── liveness of runs ──────────────────────────────────────────────────────────────────────────────

/**
 * Reconciles runs the index shows as running, from their journal (run.json) when it is in a local
 * folder, else from the index row:
 * - the journal says the run ended → the index takes the journal's state;
 * - the process driving it (pid + start time, on this host) is gone → failed (interrupted), in the
 *   index and in run.json;
 * - a run with no process on this host (executing elsewhere) is left to `reconcileRemoteRuns`, which
 *   asks the orchestrator plugin's status().
 * Returns the runs that could not be judged here (driven elsewhere).
 */
export function reconcileRuns(index: OrchIndex, runs: RunRow[] = index.runningRuns()): RunRow[] {
  const host = hostname();
  const elsewhere: RunRow[] = [];
  for (const run of runs) {
    if (run.status !== "running") continue;
    const journal = localJournal(run);
    const record = journal?.readRun();
    if (record && record.status !== "running") {
      // The run ended but the index did not hear of it (its process died first, or it ran without the CLI).
      syncRunFromJournal(index, run, journal!);
      continue;
    }
    const owner = record?.pid ? { pid: record.pid, host: record.host as string | undefined, startTime: record.pidStartTime as string | undefined } : run.pid ? { pid: run.pid, host: run.host, startTime: run.pidStartTime } : undefined;
    if (!owner || (owner.host && owner.host !== host)) {
      elsewhere.push(run);
      continue;
    }
    if (isProcessAlive(owner.pid, owner.startTime) || readonlyIndex(index)) continue; // (read-only: shown as stored)
    const message = `interrupted: the process that ran it (pid ${owner.pid} on ${owner.host ?? host}) ended without finishing the run`;
    if (index.markInterrupted(run.runId, message)) journal?.markInterrupted(message);
  }
  return elsewhere;
}

const readonlyIndex = (index: OrchIndex) => index.readonly;

/**
 * The registered stack a journaled run belongs to: the one its run.json names, else — for runs whose
 * process named none it knows (a CronJob's orchestrator pod) — the only stack that journals into
 * that folder with an orchestrator of the run's flavor.
 */
function stackOfRun(index: OrchIndex, project: Project | undefined, folder: string | undefined, record: JournalRun): string | undefined {
  const named = record.stack as string | undefined;
  if (named && index.getStack(named)) return named;
  if (!project || !folder) return named;
  const flavor = typeof record.orchestrator === "string" ? record.orchestrator.replace(/_/g, "-") : undefined;
  const matches = index.listStacks().filter((stack) => {
    const store = index.getComponent("artifact-store", stack.artifactStore);
    if (!store || store.package || store.flavor.replace(/_/g, "-") !== "local") return false;
    if (resolve(project.root, String(store.config.path ?? DEFAULT_ARTIFACTS_PATH)) !== resolve(folder)) return false;
    const orchestrator = index.getComponent("orchestrator", stack.orchestrator);
    return !flavor || orchestrator?.flavor.replace(/_/g, "-") === flavor;
  });
  return matches.length === 1 ? matches[0]!.name : named;
}

/** Copies a run and its steps from its journal into the index. */
export function syncRunFromJournal(index: OrchIndex, run: Pick<RunRow, "runId" | "storeUri" | "storeFlavor" | "scheduleId">, journal: NonNullable<ReturnType<typeof localJournal>>, project?: Project): boolean {
  const record = journal.readRun();
  if (!record || readonlyIndex(index)) return false;
  const stack = stackOfRun(index, project, run.storeUri, record);
  index.transaction(() => {
    index.upsertRun({
      runId: record.runId,
      pipeline: String(record.pipeline ?? "?"),
      pipelineHash: record.pipelineHash as string | undefined,
      status: record.status,
      interrupted: Boolean(record.interrupted),
      stack,
      orchestrator: record.orchestrator as string | undefined,
      startedAt: String(record.startedAt ?? new Date(0).toISOString()),
      finishedAt: record.finishedAt,
      pid: record.pid,
      pidStartTime: record.pidStartTime as string | undefined,
      host: record.host as string | undefined,
      parameters: (record.parameters as Record<string, unknown>) ?? {},
      error: record.error ? { message: record.error.message, ...(record.error.code ? { code: record.error.code } : {}) } : undefined,
      storeUri: run.storeUri,
      storeFlavor: run.storeFlavor,
      scheduleId: run.scheduleId,
      url: record.url as string | undefined,
    });
    for (const step of journal.readSteps()) {
      index.upsertStep({ ...step, error: step.error ? { message: step.error.message, ...(step.error.code ? { code: step.error.code } : {}) } : undefined });
    }
  });
  return true;
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Local artifact-store folders of the registered stacks' stores (where runs can be synced from). */
function localStoreFolders(index: OrchIndex, project: Project): string[] {
  const folders = new Set<string>();
  for (const store of index.listComponents("artifact-store")) {
    if (store.package || store.flavor.replace(/_/g, "-") !== "local") continue;
    folders.add(resolve(project.root, String(store.config.path ?? DEFAULT_ARTIFACTS_PATH)));
  }
  return [...folders];
}

/**
 * Brings runs the index does not know (started by `pipeline.run()` without the CLI, by a native
 * scheduler writing to a local store …) and runs it still shows unfinished into the index, from the
 * journals in the registered local artifact stores. Cheap by default: a directory listing per store,
 * and run.json reads only for unknown or unfinished runs; `full` re-reads every run.
 */
export function syncRunsFromJournals(index: OrchIndex, project: Project, options: { full?: boolean } = {}): number {
  if (readonlyIndex(index)) return 0;
  let known: Map<string, RunRow["status"]> | undefined;
  let synced = 0;
  for (const folder of localStoreFolders(index, project)) {
    const runsDir = join(folder, "runs");
    let mtime: number;
    try {
      mtime = statSync(runsDir).mtimeMs;
    } catch {
      continue;
    }
    // runs/ gains or loses an entry whenever a run is created or deleted: unchanged since the last
    // scan means nothing new to read (unfinished runs the index knows are reconcileRuns' job).
    const seenKey = `journal_scan:${runsDir}`;
    if (!options.full && index.getSetting(seenKey) === String(mtime)) continue;
    known ??= index.runStatuses();
    let complete = Date.now() - mtime > 1_000; // a folder changed this instant may gain more entries in the same tick
    for (const runId of readdirSync(runsDir)) {
      const status = known.get(runId);
      if (!options.full && status !== undefined && status !== "running") continue;
      const ref = { runId, storeUri: folder, storeFlavor: "local", scheduleId: undefined };
      const journal = localJournal(ref);
      const record = journal?.readRun();
      if (!journal || !record || record.runId !== runId) {
        // A run being created (snapshot first, run.json next): look again next time, for a minute.
        if (journal && Date.now() - mtimeOf(journal.dir) < 60_000) complete = false;
        continue;
      }
      if (status === "running" && record.status === "running") continue; // reconcileRuns judges its owner
      const existing = status === undefined ? undefined : index.getRun(runId);
      if (syncRunFromJournal(index, { ...ref, scheduleId: existing?.scheduleId }, journal, project)) synced++;
    }
    if (complete) index.setSetting(seenKey, String(mtime));
  }
  return synced;
}

/**
 * `orch run list --sync` for artifact stores that are not local folders (buckets): lists their
 * journals through the store's plugin (loading @orch/core) and brings every run into the index — for
 * runs started elsewhere, e.g. by a native scheduler (a CronJob). Only on request: it costs a listing
 * of the bucket. A store that cannot be reached is reported and skipped.
 */
export async function syncRemoteJournals(index: OrchIndex, project: Project, warn: (message: string) => void): Promise<number> {
  if (readonlyIndex(index)) return 0;
  const remote = index.listComponents("artifact-store").filter((c) => c.package || c.flavor.replace(/_/g, "-") !== "local");
  if (!remote.length) return 0;
  const core = await import("@orch/core/host");
  let synced = 0;
  for (const component of remote) {
    try {
      const { store } = await core.createArtifactStore({ name: component.name, flavor: component.flavor, config: component.config, ...(component.package ? { package: component.package } : {}) }, project.root);
      const stacks = index.listStacks().filter((s) => s.artifactStore === component.name);
      for (const runId of await core.listRunIds(store)) {
        const record = await core.readRunRecord(store, runId);
        if (!record || record.runId !== runId) continue;
        const existing = index.getRun(runId);
        const flavor = record.orchestrator?.replace(/_/g, "-");
        const byFlavor = stacks.filter((s) => !flavor || index.getComponent("orchestrator", s.orchestrator)?.flavor.replace(/_/g, "-") === flavor);
        const stack = record.stack && index.getStack(record.stack) ? record.stack : (existing?.stack ?? (byFlavor.length === 1 ? byFlavor[0]!.name : record.stack));
        const steps = await core.readStepRecords(store, runId);
        upsertJournaledRun(index, record, steps, { storeUri: store.uri, storeFlavor: store.flavor, stack, scheduleId: existing?.scheduleId });
        synced++;
      }
    } catch (error) {
      warn(`could not sync runs from artifact store "${component.name}" (${component.flavor}): ${String((error as Error)?.message ?? error).split("\n")[0]}`);
    }
  }
  return synced;
}

interface JournalRun {
  runId: string;
  status: RunRow["status"];
  pid?: number;
  finishedAt?: string;
  error?: { message: string; code?: string };
  [key: string]: unknown;
}

/** Read/write access to a run's journal when it lives in a local artifact store folder. */
export function localJournal(run: Pick<RunRow, "runId" | "storeUri" | "storeFlavor">) {
  if (run.storeFlavor !== "local" || !run.storeUri || !/^[A-Za-z0-9_.-]+$/.test(run.runId)) return undefined;
  const dir = join(run.storeUri, "runs", run.runId);
  const readJson = <T>(file: string): T | undefined => {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as T;
    } catch {
      return undefined;
    }
  };
  const writeJson = (file: string, value: unknown) => {
    const temp = `${file}.tmp-${process.pid}`;
    writeFileSync(temp, JSON.stringify(value, null, 2));
    renameSync(temp, file);
  };
  return {
    dir,
    readRun: () => readJson<JournalRun>(join(dir, "run.json")),
    readSnapshot: () => readJson<{ steps: Record<string, { id: string; upstream: string[]; name: string }>; order: string[]; pipeline: { name: string } }>(join(dir, "snapshot.json")),
    /** Step records: one file per step (runs written before the step journal), then the journal's lines (last wins). */
    readSteps(): any[] {
      const byStep = new Map<string, any>();
      try {
        for (const f of readdirSync(join(dir, "steps"))) {
          const record = f.endsWith(".json") ? readJson<{ stepId?: string }>(join(dir, "steps", f)) : undefined;
          if (record?.stepId) byStep.set(record.stepId, record);
        }
      } catch {
        // no steps/ folder: a run of the step journal
      }
      let journal = "";
      try {
        journal = readFileSync(join(dir, "steps.jsonl"), "utf8");
      } catch {
        // no journal yet
      }
      for (const [stepId, record] of parseStepJournal(journal)) byStep.set(stepId, record);
      return [...byStep.values()];
    },
    logFile: (stepId: string) => join(dir, "logs", `${stepId}.log`),
    markInterrupted(message: string) {
      this.markEnded("failed", message, "E_INTERRUPTED");
    },
    /** Ends a `running` run.json (and its unfinished steps) as `status`, when its process is gone. */
    markEnded(status: "failed" | "stopped", message: string, code: string) {
      const record = readJson<JournalRun>(join(dir, "run.json"));
      const finishedAt = new Date().toISOString();
      const error = { message, code };
      if (record && record.status === "running") writeJson(join(dir, "run.json"), { ...record, status, finishedAt, error, ...(status === "failed" ? { interrupted: true } : {}) });
      for (const step of this.readSteps()) {
        // Appended to the step journal, as core writes step records to a local store.
        if (step.status === "running" || step.status === "pending") appendFileSync(join(dir, "steps.jsonl"), stepJournalLine({ ...step, status, finishedAt, error }));
      }
    },
  };
}

/**
 * The process that drives a `running` run, when it is on this host and gone (dead, or its pid now
 * belongs to another process); `undefined` while it lives or when it cannot be judged from here.
 */
export function goneOwner(run: RunRow): { pid: number; host: string } | undefined {
  const record = localJournal(run)?.readRun();
  const pid = record?.pid ?? run.pid;
  const host = (record ? (record.host as string | undefined) : run.host) ?? hostname();
  const startTime = record ? (record.pidStartTime as string | undefined) : run.pidStartTime;
  if (!pid || host !== hostname() || isProcessAlive(pid, startTime)) return undefined;
  return { pid, host };
}

/**
 * Looks a run up by id or unique prefix (never an empty one), after checking it is not a dead
 * "running" run. A run only in the journal (started without the CLI) is synced into the index first.
 */
export function requireRun(index: OrchIndex, id: string, project?: Project, options: { reconcile?: boolean } = {}): RunRow {
  if (!id.trim()) throw new UsageError(`Run id ${JSON.stringify(id)} is empty.`, "Give a run id or a unique prefix of one (orch run list); is the shell variable you passed set?");
  let run = index.findRun(id);
  if (!run && project && syncRunsFromJournals(index, project) > 0) run = index.findRun(id);
  if (!run) throw new UsageError(`Run "${id}" is not in this project's index.`, "List runs with: orch run list");
  if (run.status === "running" && options.reconcile !== false) {
    reconcileRuns(index, [run]);
    run = index.getRun(run.runId)!;
  }
  return run;
}

export function displayStatus(run: Pick<RunRow, "status" | "interrupted">): string {
  return run.interrupted && run.status === "failed" ? "failed (interrupted)" : run.status;
}

type CoreRunRecord = Awaited<ReturnType<typeof import("@orch/core/host")["readRunRecord"]>> & {};
type CoreStepRecord = Awaited<ReturnType<typeof import("@orch/core/host")["readStepRecords"]>>[number];

/** Writes a run read from a journal through @orch/core (any store) and its steps into the index, in one transaction. */
export function upsertJournaledRun(index: OrchIndex, record: CoreRunRecord, steps: CoreStepRecord[], where: { storeUri: string; storeFlavor: string; stack: string | undefined; scheduleId: string | undefined }): void {
  index.transaction(() => {
    index.upsertRun({
      runId: record.runId,
      pipeline: record.pipeline,
      pipelineHash: record.pipelineHash,
      status: record.status,
      interrupted: Boolean(record.interrupted),
      stack: where.stack,
      orchestrator: record.orchestrator,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      pid: record.pid,
      pidStartTime: record.pidStartTime,
      host: record.host,
      parameters: record.parameters ?? {},
      error: record.error ? { message: record.error.message, ...(record.error.code ? { code: record.error.code } : {}) } : undefined,
      storeUri: where.storeUri,
      storeFlavor: where.storeFlavor,
      scheduleId: where.scheduleId,
      url: record.url,
    });
    for (const step of steps) index.upsertStep({ ...step, error: step.error ? { message: step.error.message, ...(step.error.code ? { code: step.error.code } : {}) } : undefined });
  });
}
