/**
 * Finding the project (`.orch/` upwards, or ORCH_HOME), opening its index, and reading the journal of
 * runs kept in a local artifact store — all without loading @orch/core, so listing commands stay fast.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { openIndex, type OrchIndex, type RunRow } from "@orch/store-sqlite";
import { UsageError } from "./errors.js";

export interface Project {
  /** The folder holding `.orch/` (source paths and plugins are resolved from here). */
  root: string;
  /** The `.orch/` folder. */
  home: string;
  dbFile: string;
}

export const DEFAULT_ARTIFACTS_PATH = ".orch/artifacts";

export function findProject(cwd = process.cwd()): Project | undefined {
  if (process.env.ORCH_HOME) {
    const home = resolve(process.env.ORCH_HOME);
    return existsSync(home) ? projectAt(dirname(home), home) : undefined;
  }
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, ".orch"))) return projectAt(dir, join(dir, ".orch"));
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function projectAt(root: string, home = join(root, ".orch")): Project {
  return { root, home, dbFile: join(home, "orch.db") };
}

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

/** Opens the project's index (creating the default stack if the index is new). */
export function openProjectIndex(project: Project): OrchIndex {
  const fresh = !existsSync(project.dbFile);
  const index = openIndex(project.dbFile);
  if (fresh || !index.getStack("default")) seedDefaults(index, project);
  return index;
}

// ── liveness of runs ──────────────────────────────────────────────────────────────────────────────

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs the index shows as running whose process (on this host) is gone: their journal is synced when
 * it says the run ended, otherwise they are marked failed (interrupted) in the index and in run.json.
 */
export function reconcileRuns(index: OrchIndex, runs: RunRow[] = index.runningRuns()): void {
  const host = hostname();
  for (const run of runs) {
    if (run.status !== "running" || !run.pid || (run.host && run.host !== host) || processAlive(run.pid)) continue;
    const journal = localJournal(run);
    const record = journal?.readRun();
    if (record && record.status !== "running" && record.pid === run.pid) {
      // The run ended but its process died before the index heard of it.
      index.upsertRun({ ...run, status: record.status, finishedAt: record.finishedAt, error: record.error });
      for (const step of journal!.readSteps()) index.upsertStep(step);
      continue;
    }
    if (record && record.pid !== undefined && record.pid !== run.pid && record.status === "running" && processAlive(record.pid)) continue; // resumed elsewhere
    const message = `interrupted: the process that ran it (pid ${run.pid} on ${run.host ?? host}) ended without finishing the run`;
    if (index.markInterrupted(run.runId, message)) journal?.markInterrupted(message);
  }
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
    readSteps(): any[] {
      try {
        return readdirSync(join(dir, "steps"))
          .filter((f) => f.endsWith(".json"))
          .map((f) => readJson(join(dir, "steps", f)))
          .filter(Boolean);
      } catch {
        return [];
      }
    },
    logFile: (stepId: string) => join(dir, "logs", `${stepId}.log`),
    markInterrupted(message: string) {
      const record = readJson<JournalRun>(join(dir, "run.json"));
      const finishedAt = new Date().toISOString();
      const error = { message, code: "E_INTERRUPTED" };
      if (record && record.status === "running") writeJson(join(dir, "run.json"), { ...record, status: "failed", finishedAt, error, interrupted: true });
      for (const step of this.readSteps()) {
        if (step.status === "running" || step.status === "pending") writeJson(join(dir, "steps", `${step.stepId}.json`), { ...step, status: "failed", finishedAt, error });
      }
    },
  };
}

/** Looks a run up by id or unique prefix, after checking it is not a dead "running" run. */
export function requireRun(index: OrchIndex, id: string): RunRow {
  let run = index.findRun(id);
  if (!run) throw new UsageError(`Run "${id}" is not in this project's index.`, "List runs with: orch run list");
  if (run.status === "running") {
    reconcileRuns(index, [run]);
    run = index.getRun(run.runId)!;
  }
  return run;
}

export function displayStatus(run: Pick<RunRow, "status" | "interrupted">): string {
  return run.interrupted && run.status === "failed" ? "failed (interrupted)" : run.status;
}
