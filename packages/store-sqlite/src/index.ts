/**
 * @orch/store-sqlite — the orch metadata index: stack components, stacks, the active stack, runs,
 * step runs, artifacts, pipelines and local schedules in one SQLite file (`.orch/orch.db`).
 *
 * The artifact store's journal stays the source of truth for runs; this index is what makes listing
 * and querying fast. WAL mode and a busy timeout let many `orch` processes write at once; every write
 * is a short `BEGIN IMMEDIATE` transaction. The schema is versioned with `PRAGMA user_version`.
 *
 * Deliberately free of @orch/core (and zod) at runtime, so that `orch stack list` / `orch run list` stay
 * fast. Its run and step rows are derived from core's journal record types (type-only imports), so
 * the index and the journal cannot drift apart.
 *
 * @example
 * import { openIndex } from "@orch/store-sqlite";
 * const index = openIndex(".orch/orch.db");
 * index.putComponent({ kind: "orchestrator", name: "default", flavor: "local", config: {} });
 * console.log(index.listRuns({ limit: 10 }));
 * index.close();
 *
 * @module
 */
import { chmodSync, closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import type { RunRecord, StepRecord } from "@orch/core";

export type ComponentKind = "orchestrator" | "artifact-store" | "container-registry";
export const COMPONENT_KINDS: readonly ComponentKind[] = ["orchestrator", "artifact-store", "container-registry"];

export interface ComponentRow {
  kind: ComponentKind;
  name: string;
  flavor: string;
  config: Record<string, unknown>;
  package?: string | undefined;
  createdAt?: string;
  updatedAt?: string;
}

export interface StackRow {
  name: string;
  orchestrator: string;
  artifactStore: string;
  containerRegistry?: string | undefined;
  createdAt?: string;
  updatedAt?: string;
}

export type IndexedRunStatus = RunRecord["status"];

/** What the index keeps of an error: its message and code (the journal has the whole record). */
export type IndexedError = Pick<NonNullable<RunRecord["error"]>, "message" | "code">;

/** A run as the index keeps it: the journal's RunRecord (runs/<id>/run.json) plus where it lives. */
export type RunRow = Pick<RunRecord, "runId" | "pipeline" | "status" | "startedAt"> &
  Partial<Pick<RunRecord, "pipelineHash" | "interrupted" | "stack" | "orchestrator" | "finishedAt" | "pid" | "pidStartTime" | "host" | "parameters" | "url">> & {
    error?: IndexedError | undefined;
    /** Where the run's journal lives (`artifactStore.uri`), with the store's flavor. */
    storeUri?: string | undefined;
    storeFlavor?: string | undefined;
    scheduleId?: string | undefined;
    /** Steps by status, filled by `listRuns` / `getRun`. */
    stepCounts?: Record<string, number>;
  };

/** A step run as the index keeps it: the journal's StepRecord (runs/<id>/steps/<step>.json) without metadata. */
export type StepRow = Pick<StepRecord, "runId" | "stepId" | "name" | "status" | "attempts"> &
  Partial<Pick<StepRecord, "startedAt" | "finishedAt" | "durationMs" | "cachedFrom" | "outputs">> & {
    error?: IndexedError | undefined;
  };

export interface PipelineRow {
  name: string;
  sourceFile?: string | undefined;
  exportName?: string | undefined;
  hash?: string | undefined;
  updatedAt: string;
  runCount?: number;
  lastRunId?: string | undefined;
  lastStatus?: string | undefined;
  lastStartedAt?: string | undefined;
}

export interface PipelineVersionRow {
  pipeline: string;
  hash?: string | undefined;
  runs: number;
  firstStartedAt: string;
  lastStartedAt: string;
}

export interface ScheduleRow {
  id: string;
  pipeline: string;
  stack: string;
  /** Project-relative file and export the pipeline is loaded from. */
  sourceFile: string;
  exportName?: string | undefined;
  parameters: Record<string, unknown>;
  /** The validated schedule (core's `Schedule`): cron | intervalSeconds | runOnceAt, catchup, allowOverlap … */
  schedule: Record<string, unknown>;
  /** `index`: started by `orch schedule serve`; `native`: kept by the orchestrator's own scheduler. */
  managedBy: "index" | "native";
  nativeId?: string | undefined;
  state: "active" | "completed" | "ended";
  nextRunAt?: string | undefined;
  lastRunAt?: string | undefined;
  lastRunId?: string | undefined;
  createdAt: string;
}

export interface ListRunsOptions {
  limit?: number;
  offset?: number;
  pipeline?: string;
  status?: string;
  stack?: string;
  scheduleId?: string;
}

/** Thrown for index-level problems (unknown names, references); the CLI turns them into usage errors. */
export class IndexError extends Error {
  readonly code: "E_NOT_FOUND" | "E_EXISTS" | "E_IN_USE" | "E_INVALID" | "E_INDEX_CORRUPT" | "E_INDEX_READONLY";
  readonly hint?: string;
  constructor(code: IndexError["code"], message: string, hint?: string) {
    super(message);
    this.name = "IndexError";
    this.code = code;
    this.hint = hint;
  }
}

const MIGRATIONS: string[] = [
  // 1: initial schema
  `
  CREATE TABLE components (
    kind TEXT NOT NULL, name TEXT NOT NULL, flavor TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}', package TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (kind, name)
  );
  CREATE TABLE stacks (
    name TEXT PRIMARY KEY, orchestrator TEXT NOT NULL, artifact_store TEXT NOT NULL, container_registry TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
  );
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, pipeline_hash TEXT, status TEXT NOT NULL, interrupted INTEGER NOT NULL DEFAULT 0,
    stack TEXT, orchestrator TEXT, started_at TEXT NOT NULL, finished_at TEXT, pid INTEGER, host TEXT,
    parameters TEXT NOT NULL DEFAULT '{}', error TEXT, store_uri TEXT, store_flavor TEXT, schedule_id TEXT, updated_at TEXT NOT NULL
  );
  CREATE INDEX runs_status ON runs (status);
  CREATE INDEX runs_pipeline ON runs (pipeline, run_id);
  CREATE INDEX runs_schedule ON runs (schedule_id, run_id);
  CREATE TABLE steps (
    run_id TEXT NOT NULL, step_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT, finished_at TEXT, duration_ms INTEGER, cached_from TEXT, error TEXT, outputs TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, step_id)
  );
  CREATE TABLE artifacts (
    artifact_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_id TEXT NOT NULL, output TEXT NOT NULL,
    materializer TEXT NOT NULL, content_hash TEXT NOT NULL
  );
  CREATE INDEX artifacts_run ON artifacts (run_id);
  CREATE TABLE pipelines (name TEXT PRIMARY KEY, source_file TEXT, export_name TEXT, hash TEXT, updated_at TEXT NOT NULL);
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, stack TEXT NOT NULL, source_file TEXT NOT NULL, export_name TEXT,
    parameters TEXT NOT NULL DEFAULT '{}', schedule TEXT NOT NULL, managed_by TEXT NOT NULL, native_id TEXT,
    state TEXT NOT NULL DEFAULT 'active', next_run_at TEXT, last_run_at TEXT, last_run_id TEXT, created_at TEXT NOT NULL
  );
  `,
  // 2: the start time of a run's process, to tell it from a process that reuses its pid
  `ALTER TABLE runs ADD COLUMN pid_start_time TEXT;
   CREATE INDEX runs_started ON runs (started_at);`,
  // 3: the run's page in the orchestrator's own UI (a cloud console)
  `ALTER TABLE runs ADD COLUMN url TEXT;`,
];

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const now = () => new Date().toISOString();
const json = (value: unknown) => JSON.stringify(value ?? {});
const parse = <T>(text: unknown, fallback: T): T => (typeof text === "string" && text ? (JSON.parse(text) as T) : fallback);
const opt = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

type Row = Record<string, any>;

export interface OpenIndexOptions {
  /** Milliseconds a writer waits for another process's lock before failing. Default 30 000. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/**
 * Opens (creating and migrating when needed) the index at `file`.
 *
 * A damaged file is never silently replaced: one that is not an SQLite database, is cut short (smaller
 * than its header says) or that SQLite reports as malformed gives `E_INDEX_CORRUPT`; `orch init
 * --repair` moves it aside and rebuilds. With `readonly`, nothing is written (no migration either);
 * writes then fail with `E_INDEX_READONLY`.
 */
export function openIndex(file: string, options: OpenIndexOptions = {}): OrchIndex {
  checkIndexFile(file);
  // The index holds component configs, secrets included: only its owner may read it (folder 0700, file 0600;
  // SQLite gives the -wal and -shm files the database file's mode).
  if (!options.readonly) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const created = !options.readonly && !existsSync(file);
  let db: Database.Database | undefined;
  let copy: string | undefined;
  try {
    db = new Database(file, options.readonly ? { readonly: true, fileMustExist: true } : {});
    if (created) chmodSync(file, 0o600);
    if (options.readonly) {
      try {
        db.prepare("SELECT count(*) FROM sqlite_master").get();
      } catch (error) {
        // SQLite cannot read a WAL-mode file in a folder it may not write (it needs the -shm file):
        // read a private copy instead — an index is small, and this process changes nothing anyway.
        if (!/^SQLITE_(READONLY|CANTOPEN)/.test((error as { code?: string }).code ?? "")) throw error;
        db.close();
        copy = mkdtempSync(join(tmpdir(), "orch-index-"));
        for (const suffix of ["", "-wal"]) if (existsSync(`${file}${suffix}`)) copyFileSync(`${file}${suffix}`, join(copy, `orch.db${suffix}`));
        db = new Database(join(copy, "orch.db"), { readonly: true, fileMustExist: true });
      }
    }
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
    if (!options.readonly) {
      if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      migrate(db);
    } else {
      db.prepare("SELECT count(*) FROM sqlite_master").get(); // reads the schema: a damaged file fails here
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version !== SCHEMA_VERSION) {
        throw new IndexError("E_INDEX_READONLY", `The orch index ${file} is read-only and has schema ${version}; this orch needs ${SCHEMA_VERSION}.`, `Make it writable (chmod u+w ${file} and its folder) so orch can upgrade it.`);
      }
    }
    const index = new OrchIndex(db, Boolean(options.readonly), file);
    if (copy) index.onClose = () => rmSync(copy!, { recursive: true, force: true });
    return index;
  } catch (error) {
    db?.close();
    if (copy) rmSync(copy, { recursive: true, force: true });
    throw indexError(error, file);
  }
}

/**
 * What can still be read from a damaged index file (for `orch init --repair`): components, stacks and
 * the active stack, each table on its own; whatever SQLite cannot read is left out.
 */
export function salvageIndex(file: string): { components: ComponentRow[]; stacks: StackRow[]; activeStack?: string } {
  const found: { components: ComponentRow[]; stacks: StackRow[]; activeStack?: string } = { components: [], stacks: [] };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const read = <T>(sql: string, map: (row: Row) => T): T[] => {
      try {
        return (db!.prepare(sql).all() as Row[]).map(map);
      } catch {
        return [];
      }
    };
    found.components = read("SELECT * FROM components", toComponent);
    found.stacks = read("SELECT * FROM stacks", toStack);
    const active = read("SELECT value FROM settings WHERE key = 'active_stack'", (r) => r.value as string)[0];
    if (active) found.activeStack = active;
  } catch {
    // not readable at all
  } finally {
    db?.close();
  }
  return found;
}

/** The message and hint for a damaged index. */
export function corruptIndexError(file: string, problem: string): IndexError {
  return new IndexError(
    "E_INDEX_CORRUPT",
    `The orch index ${file} is damaged (${problem}); orch will not overwrite it.`,
    "Run `orch init --repair`: it moves the file to a timestamped backup, creates a fresh index with the default stack and re-reads runs from the journal (stacks and components registered in the damaged file are copied when they can still be read; otherwise register them again).",
  );
}

/** SQLite's "not a database / malformed / read-only" errors as IndexErrors with a hint; others unchanged. */
function indexError(error: unknown, file: string): unknown {
  const code = (error as { code?: string })?.code ?? "";
  if (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT")) return corruptIndexError(file, String((error as Error).message));
  if (code.startsWith("SQLITE_READONLY") || (code.startsWith("SQLITE_CANTOPEN") && existsSync(file))) {
    return new IndexError("E_INDEX_READONLY", `The orch index ${file} cannot be written (${(error as Error).message}).`, `Make it and its folder writable (chmod u+w ${file} ${dirname(file)}); commands that only read work meanwhile.`);
  }
  return error;
}

const SQLITE_HEADER = "SQLite format 3\0";

/** Cheap checks of an existing index file (first 100 bytes): an SQLite file, as long as its header says. */
function checkIndexFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return; // absent (created below) or unreadable (SQLite reports it)
  }
  try {
    let { size } = fstatSync(fd);
    // Another process may be creating it this instant (SQLite writes the header right after creating
    // the file): give it a moment. An index that stays empty lost its contents.
    for (let i = 0; size === 0 && i < 20; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      size = fstatSync(fd).size;
    }
    if (size === 0) throw corruptIndexError(file, "the file is empty");
    const header = Buffer.alloc(100);
    // Another process's checkpoint may be writing the file this instant (the header's new page count
    // before the pages, or the other way round): a file shorter than its header says is looked at again
    // for a moment; one that stays so lost its end.
    for (let attempt = 1; ; attempt++) {
      const read = readSync(fd, header, 0, 100, 0);
      if (read < 100 || header.toString("latin1", 0, 16) !== SQLITE_HEADER) throw corruptIndexError(file, "not an SQLite database");
      size = fstatSync(fd).size;
      const pageSize = header.readUInt16BE(16) === 1 ? 65_536 : header.readUInt16BE(16);
      const pages = header.readUInt32BE(28);
      // The page count is valid when the "version-valid-for" number matches the change counter.
      if (header.readUInt32BE(92) !== header.readUInt32BE(24) || pages === 0 || size >= pages * pageSize) break;
      if (attempt >= 20) throw corruptIndexError(file, `the file is cut short: ${size} bytes where its header says ${pages * pageSize}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  } finally {
    closeSync(fd);
  }
}

function migrate(db: Database.Database): void {
  const version = () => db.pragma("user_version", { simple: true }) as number;
  if (version() === SCHEMA_VERSION) return;
  db.transaction(() => {
    const current = version(); // re-read under the write lock: another process may have migrated
    if (current > SCHEMA_VERSION) {
      throw new IndexError("E_INVALID", `The orch index was written by a newer orch (schema ${current}, this one knows ${SCHEMA_VERSION}).`, "Upgrade @orch/cli.");
    }
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

export class OrchIndex {
  readonly db: Database.Database;
  /** Opened read-only (the file or its folder is not writable): every write fails with E_INDEX_READONLY. */
  readonly readonly: boolean;
  readonly file: string;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database, readonly = false, file = db.name) {
    this.db = db;
    this.readonly = readonly;
    this.file = file;
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE, so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T {
    if (this.readonly) {
      throw new IndexError("E_INDEX_READONLY", `The orch index ${this.file} is read-only, so this command cannot change it.`, `Make it and its folder writable (chmod u+w ${this.file} ${dirname(this.file)}); commands that only read work meanwhile.`);
    }
    if (this.db.inTransaction) return fn();
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      throw indexError(error, this.file);
    }
  }

  /** Called after close (removes the private copy a read-only index may read). */
  onClose?: () => void;
  close(): void {
    this.db.close();
    this.onClose?.();
  }

  // ── settings ────────────────────────────────────────────────────────────────────────────────────
  getSetting(key: string): string | undefined {
    return opt((this.stmt("SELECT value FROM settings WHERE key = ?").get(key) as Row | undefined)?.value);
  }
  setSetting(key: string, value: string): void {
    this.transaction(() => this.stmt("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value));
  }

  // ── components ──────────────────────────────────────────────────────────────────────────────────
  getComponent(kind: ComponentKind, name: string): ComponentRow | undefined {
    const row = this.stmt("SELECT * FROM components WHERE kind = ? AND name = ?").get(kind, name) as Row | undefined;
    return row ? toComponent(row) : undefined;
  }
  listComponents(kind: ComponentKind): ComponentRow[] {
    return (this.stmt("SELECT * FROM components WHERE kind = ? ORDER BY name").all(kind) as Row[]).map(toComponent);
  }
  /** Creates a component; `E_EXISTS` when the name is taken (unless `replace`). */
  putComponent(component: ComponentRow, options: { replace?: boolean } = {}): void {
    this.transaction(() => {
      const existing = this.getComponent(component.kind, component.name);
      if (existing && !options.replace) {
        throw new IndexError("E_EXISTS", `${label(component.kind)} "${component.name}" already exists.`, `Use: orch ${component.kind} update ${component.name} --key=value, or pick another name.`);
      }
      const t = now();
      this.stmt(
        `INSERT INTO components (kind, name, flavor, config, package, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(kind, name) DO UPDATE SET flavor = excluded.flavor, config = excluded.config, package = excluded.package, updated_at = excluded.updated_at`,
      ).run(component.kind, component.name, component.flavor, json(component.config), component.package ?? null, existing?.createdAt ?? t, t);
    });
  }
  deleteComponent(kind: ComponentKind, name: string): void {
    this.transaction(() => {
      this.requireComponent(kind, name);
      const column = kind === "orchestrator" ? "orchestrator" : kind === "artifact-store" ? "artifact_store" : "container_registry";
      const users = (this.stmt(`SELECT name FROM stacks WHERE ${column} = ? ORDER BY name`).all(name) as Row[]).map((r) => r.name as string);
      if (users.length) {
        throw new IndexError("E_IN_USE", `${label(kind)} "${name}" is used by stack${users.length > 1 ? "s" : ""} ${users.join(", ")}.`, `Point those stacks at another ${kind} first (orch stack update ${users[0]} …), or delete them.`);
      }
      this.stmt("DELETE FROM components WHERE kind = ? AND name = ?").run(kind, name);
    });
  }
  requireComponent(kind: ComponentKind, name: string): ComponentRow {
    const component = this.getComponent(kind, name);
    if (!component) {
      const names = this.listComponents(kind).map((c) => c.name);
      throw new IndexError("E_NOT_FOUND", `${label(kind)} "${name}" is not registered.`, names.length ? `Registered: ${names.join(", ")} (orch ${kind} list).` : `Register one: orch ${kind} register NAME --flavor=…`);
    }
    return component;
  }
  /** Stacks that use a component. */
  stacksUsing(kind: ComponentKind, name: string): string[] {
    return this.listStacks()
      .filter((s) => (kind === "orchestrator" ? s.orchestrator : kind === "artifact-store" ? s.artifactStore : s.containerRegistry) === name)
      .map((s) => s.name);
  }

  // ── stacks ──────────────────────────────────────────────────────────────────────────────────────
  getStack(name: string): StackRow | undefined {
    const row = this.stmt("SELECT * FROM stacks WHERE name = ?").get(name) as Row | undefined;
    return row ? toStack(row) : undefined;
  }
  requireStack(name: string): StackRow {
    const stack = this.getStack(name);
    if (!stack) {
      const names = this.listStacks().map((s) => s.name);
      throw new IndexError("E_NOT_FOUND", `Stack "${name}" is not registered.`, `Registered stacks: ${names.join(", ") || "none"} (orch stack list); create one with orch stack register.`);
    }
    return stack;
  }
  listStacks(): StackRow[] {
    return (this.stmt("SELECT * FROM stacks ORDER BY name").all() as Row[]).map(toStack);
  }
  /** Creates or replaces a stack after checking that its components exist. */
  putStack(stack: StackRow, options: { replace?: boolean } = {}): void {
    this.transaction(() => {
      const existing = this.getStack(stack.name);
      if (existing && !options.replace) throw new IndexError("E_EXISTS", `Stack "${stack.name}" already exists.`, `Use: orch stack update ${stack.name} …, or pick another name.`);
      this.requireComponent("orchestrator", stack.orchestrator);
      this.requireComponent("artifact-store", stack.artifactStore);
      if (stack.containerRegistry) this.requireComponent("container-registry", stack.containerRegistry);
      const t = now();
      this.stmt(
        `INSERT INTO stacks (name, orchestrator, artifact_store, container_registry, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET orchestrator = excluded.orchestrator, artifact_store = excluded.artifact_store,
           container_registry = excluded.container_registry, updated_at = excluded.updated_at`,
      ).run(stack.name, stack.orchestrator, stack.artifactStore, stack.containerRegistry ?? null, existing?.createdAt ?? t, t);
    });
  }
  deleteStack(name: string): void {
    this.transaction(() => {
      this.requireStack(name);
      if (this.activeStackName() === name) throw new IndexError("E_IN_USE", `Stack "${name}" is the active stack.`, "Activate another stack first: orch stack set default");
      this.stmt("DELETE FROM stacks WHERE name = ?").run(name);
    });
  }
  activeStackName(): string {
    return this.getSetting("active_stack") ?? "default";
  }
  setActiveStack(name: string): void {
    this.transaction(() => {
      this.requireStack(name);
      this.setSetting("active_stack", name);
    });
  }

  // ── runs ────────────────────────────────────────────────────────────────────────────────────────
  /** Inserts or updates a run; a finished run is never set back to running by a late update. */
  upsertRun(run: RunRow): void {
    this.transaction(() => {
      this.stmt(
        `INSERT INTO runs (run_id, pipeline, pipeline_hash, status, interrupted, stack, orchestrator, started_at, finished_at, pid, pid_start_time, host, parameters, error, store_uri, store_flavor, schedule_id, url, updated_at)
         VALUES (@runId, @pipeline, @pipelineHash, @status, @interrupted, @stack, @orchestrator, @startedAt, @finishedAt, @pid, @pidStartTime, @host, @parameters, @error, @storeUri, @storeFlavor, @scheduleId, @url, @updatedAt)
         ON CONFLICT(run_id) DO UPDATE SET
           pipeline = excluded.pipeline, pipeline_hash = coalesce(excluded.pipeline_hash, pipeline_hash), status = excluded.status,
           interrupted = excluded.interrupted, stack = coalesce(excluded.stack, stack), orchestrator = coalesce(excluded.orchestrator, orchestrator),
           started_at = excluded.started_at, finished_at = excluded.finished_at, pid = coalesce(excluded.pid, pid),
           pid_start_time = CASE WHEN excluded.pid IS NULL THEN pid_start_time ELSE excluded.pid_start_time END, host = coalesce(excluded.host, host),
           parameters = excluded.parameters, error = excluded.error, store_uri = coalesce(excluded.store_uri, store_uri),
           store_flavor = coalesce(excluded.store_flavor, store_flavor), schedule_id = coalesce(excluded.schedule_id, schedule_id),
           url = coalesce(excluded.url, url), updated_at = excluded.updated_at`,
      ).run({
        runId: run.runId,
        pipeline: run.pipeline,
        pipelineHash: run.pipelineHash ?? null,
        status: run.status,
        interrupted: run.interrupted ? 1 : 0,
        stack: run.stack ?? null,
        orchestrator: run.orchestrator ?? null,
        startedAt: run.startedAt,
        finishedAt: run.finishedAt ?? null,
        pid: run.pid ?? null,
        pidStartTime: run.pidStartTime ?? null,
        host: run.host ?? null,
        parameters: json(run.parameters),
        error: run.error ? JSON.stringify(run.error) : null,
        storeUri: run.storeUri ?? null,
        storeFlavor: run.storeFlavor ?? null,
        scheduleId: run.scheduleId ?? null,
        url: run.url ?? null,
        updatedAt: now(),
      });
    });
  }
  upsertStep(step: StepRow): void {
    this.transaction(() => {
      this.stmt(
        `INSERT INTO steps (run_id, step_id, name, status, attempts, started_at, finished_at, duration_ms, cached_from, error, outputs)
         VALUES (@runId, @stepId, @name, @status, @attempts, @startedAt, @finishedAt, @durationMs, @cachedFrom, @error, @outputs)
         ON CONFLICT(run_id, step_id) DO UPDATE SET name = excluded.name, status = excluded.status, attempts = excluded.attempts,
           started_at = excluded.started_at, finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
           cached_from = excluded.cached_from, error = excluded.error, outputs = excluded.outputs`,
      ).run({
        runId: step.runId,
        stepId: step.stepId,
        name: step.name,
        status: step.status,
        attempts: step.attempts ?? 0,
        startedAt: step.startedAt ?? null,
        finishedAt: step.finishedAt ?? null,
        durationMs: step.durationMs ?? null,
        cachedFrom: step.cachedFrom ?? null,
        error: step.error ? JSON.stringify({ message: step.error.message, ...(step.error.code ? { code: step.error.code } : {}) }) : null,
        outputs: json(step.outputs),
      });
      for (const [output, record] of Object.entries(step.outputs ?? {})) {
        this.stmt(
          `INSERT INTO artifacts (artifact_id, run_id, step_id, output, materializer, content_hash) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(artifact_id) DO NOTHING`,
        ).run(record.artifactId, step.runId, step.stepId, output, record.materializer, record.contentHash);
      }
    });
  }
  getRun(runId: string): RunRow | undefined {
    const row = this.stmt("SELECT * FROM runs WHERE run_id = ?").get(runId) as Row | undefined;
    if (!row) return undefined;
    const run = toRun(row);
    run.stepCounts = this.stepCounts([runId]).get(runId) ?? {};
    return run;
  }
  /**
   * A run by full id or unique prefix. An empty (or blank) prefix is refused — `orch run delete "$ID"`
   * with an unset variable must not pick the only run — and an ambiguous one lists the candidates.
   */
  findRun(idOrPrefix: string): RunRow | undefined {
    if (!idOrPrefix.trim()) throw new IndexError("E_INVALID", `Run id ${JSON.stringify(idOrPrefix)} is empty.`, "Give a run id or a unique prefix of one (orch run list).");
    const exact = this.getRun(idOrPrefix);
    if (exact) return exact;
    const rows = this.stmt("SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY started_at DESC, run_id DESC LIMIT 11").all(idOrPrefix, `${idOrPrefix}\uffff`) as Row[];
    if (rows.length > 1) {
      const ids = rows.slice(0, 10).map((r) => r.run_id as string);
      throw new IndexError("E_INVALID", `Run id prefix "${idOrPrefix}" matches several runs: ${ids.join(", ")}${rows.length > 10 ? ", …" : ""}.`, "Give more characters of the run id (orch run list).");
    }
    return rows[0] ? this.getRun(rows[0].run_id as string) : undefined;
  }
  /** Every run id in the index with its status (for syncing from the journal). */
  runStatuses(): Map<string, IndexedRunStatus> {
    return new Map((this.stmt("SELECT run_id, status FROM runs").all() as Row[]).map((r) => [r.run_id as string, r.status as IndexedRunStatus]));
  }
  /** Runs, newest first (by start time: custom run ids sort anywhere). */
  listRuns(options: ListRunsOptions = {}): RunRow[] {
    const { where, args } = runFilter(options);
    const sql = `SELECT * FROM runs ${where} ORDER BY started_at DESC, run_id DESC LIMIT ? OFFSET ?`;
    const runs = (this.stmt(sql).all(...args, options.limit ?? -1, options.offset ?? 0) as Row[]).map(toRun);
    const counts = this.stepCounts(runs.map((r) => r.runId));
    for (const run of runs) run.stepCounts = counts.get(run.runId) ?? {};
    return runs;
  }
  /** Runs in the index, or those matching the filters `listRuns` takes (for paging). */
  countRuns(filter: Omit<ListRunsOptions, "limit" | "offset"> = {}): number {
    const { where, args } = runFilter(filter);
    return (this.stmt(`SELECT count(*) AS n FROM runs ${where}`).get(...args) as Row).n as number;
  }
  /** Runs the index believes are running (to check whether their process is still alive). */
  runningRuns(): RunRow[] {
    return (this.stmt("SELECT * FROM runs WHERE status = 'running'").all() as Row[]).map(toRun);
  }
  private stepCounts(runIds: string[]): Map<string, Record<string, number>> {
    const counts = new Map<string, Record<string, number>>();
    if (!runIds.length) return counts;
    for (let i = 0; i < runIds.length; i += 500) {
      const chunk = runIds.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT run_id, status, count(*) AS n FROM steps WHERE run_id IN (${chunk.map(() => "?").join(",")}) GROUP BY run_id, status`)
        .all(...chunk) as Row[];
      for (const row of rows) {
        const entry = counts.get(row.run_id) ?? {};
        entry[row.status as string] = row.n as number;
        counts.set(row.run_id, entry);
      }
    }
    return counts;
  }
  getSteps(runId: string): StepRow[] {
    return (this.stmt("SELECT * FROM steps WHERE run_id = ? ORDER BY coalesce(started_at, '~'), step_id").all(runId) as Row[]).map(toStep);
  }
  /**
   * Marks a run whose driving process is gone as failed (interrupted), with its unfinished steps.
   * Only when it is still `running` in the index; returns whether it changed anything.
   */
  markInterrupted(runId: string, message: string): boolean {
    return this.transaction(() => {
      const t = now();
      const error = JSON.stringify({ message, code: "E_INTERRUPTED" });
      const changed = this.stmt("UPDATE runs SET status = 'failed', interrupted = 1, finished_at = ?, error = ?, updated_at = ? WHERE run_id = ? AND status = 'running'").run(t, error, t, runId);
      if (changed.changes) this.stmt("UPDATE steps SET status = 'failed', finished_at = ?, error = ? WHERE run_id = ? AND status IN ('running', 'pending')").run(t, error, runId);
      return changed.changes > 0;
    });
  }
  /** Marks a `running` run whose process is gone as stopped (a stop asked for after it died), with its unfinished steps. */
  markStopped(runId: string, message: string): boolean {
    return this.transaction(() => {
      const t = now();
      const error = JSON.stringify({ message, code: "E_CANCELLED" });
      const changed = this.stmt("UPDATE runs SET status = 'stopped', finished_at = ?, error = ?, updated_at = ? WHERE run_id = ? AND status = 'running'").run(t, error, t, runId);
      if (changed.changes) this.stmt("UPDATE steps SET status = 'stopped', finished_at = ?, error = ? WHERE run_id = ? AND status IN ('running', 'pending')").run(t, error, runId);
      return changed.changes > 0;
    });
  }
  deleteRun(runId: string): void {
    this.transaction(() => {
      this.stmt("DELETE FROM steps WHERE run_id = ?").run(runId);
      this.stmt("DELETE FROM artifacts WHERE run_id = ?").run(runId);
      this.stmt("DELETE FROM runs WHERE run_id = ?").run(runId);
    });
  }

  // ── pipelines ───────────────────────────────────────────────────────────────────────────────────
  upsertPipeline(pipeline: { name: string; sourceFile?: string | undefined; exportName?: string | undefined; hash?: string | undefined }): void {
    this.transaction(() =>
      this.stmt(
        `INSERT INTO pipelines (name, source_file, export_name, hash, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET source_file = coalesce(excluded.source_file, source_file), export_name = coalesce(excluded.export_name, export_name),
           hash = coalesce(excluded.hash, hash), updated_at = excluded.updated_at`,
      ).run(pipeline.name, pipeline.sourceFile ?? null, pipeline.exportName ?? null, pipeline.hash ?? null, now()),
    );
  }
  listPipelines(): PipelineRow[] {
    const rows = this.stmt(
      `SELECT p.*, (SELECT count(*) FROM runs r WHERE r.pipeline = p.name) AS run_count,
         (SELECT run_id FROM runs r WHERE r.pipeline = p.name ORDER BY started_at DESC, run_id DESC LIMIT 1) AS last_run_id
       FROM pipelines p ORDER BY p.name`,
    ).all() as Row[];
    return rows.map((row) => {
      const last = row.last_run_id ? (this.stmt("SELECT status, interrupted, started_at FROM runs WHERE run_id = ?").get(row.last_run_id) as Row) : undefined;
      return {
        name: row.name,
        sourceFile: opt(row.source_file),
        exportName: opt(row.export_name),
        hash: opt(row.hash),
        updatedAt: row.updated_at,
        runCount: row.run_count,
        lastRunId: opt(row.last_run_id),
        lastStatus: last ? (last.interrupted ? "interrupted" : last.status) : undefined,
        lastStartedAt: last?.started_at,
      };
    });
  }

  /** Each pipeline's versions (structural hashes) seen in runs: how many runs each had and when it last ran. */
  pipelineVersions(): PipelineVersionRow[] {
    return (
      this.stmt(
        `SELECT pipeline, pipeline_hash, count(*) AS runs, min(started_at) AS first_started_at, max(started_at) AS last_started_at
         FROM runs GROUP BY pipeline, pipeline_hash ORDER BY pipeline, last_started_at DESC`,
      ).all() as Row[]
    ).map((row) => ({ pipeline: row.pipeline, hash: opt(row.pipeline_hash), runs: row.runs, firstStartedAt: row.first_started_at, lastStartedAt: row.last_started_at }));
  }

  // ── schedules ───────────────────────────────────────────────────────────────────────────────────
  putSchedule(schedule: ScheduleRow): void {
    this.transaction(() =>
      this.stmt(
        `INSERT INTO schedules (id, pipeline, stack, source_file, export_name, parameters, schedule, managed_by, native_id, state, next_run_at, last_run_at, last_run_id, created_at)
         VALUES (@id, @pipeline, @stack, @sourceFile, @exportName, @parameters, @schedule, @managedBy, @nativeId, @state, @nextRunAt, @lastRunAt, @lastRunId, @createdAt)
         ON CONFLICT(id) DO UPDATE SET pipeline = excluded.pipeline, stack = excluded.stack, source_file = excluded.source_file, export_name = excluded.export_name,
           parameters = excluded.parameters, schedule = excluded.schedule, managed_by = excluded.managed_by, native_id = excluded.native_id, state = excluded.state,
           next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, last_run_id = excluded.last_run_id`,
      ).run({
        ...schedule,
        exportName: schedule.exportName ?? null,
        parameters: json(schedule.parameters),
        schedule: json(schedule.schedule),
        nativeId: schedule.nativeId ?? null,
        nextRunAt: schedule.nextRunAt ?? null,
        lastRunAt: schedule.lastRunAt ?? null,
        lastRunId: schedule.lastRunId ?? null,
      }),
    );
  }
  getSchedule(id: string): ScheduleRow | undefined {
    const row = this.stmt("SELECT * FROM schedules WHERE id = ?").get(id) as Row | undefined;
    return row ? toSchedule(row) : undefined;
  }
  listSchedules(): ScheduleRow[] {
    return (this.stmt("SELECT * FROM schedules ORDER BY created_at, id").all() as Row[]).map(toSchedule);
  }
  updateScheduleState(id: string, patch: Partial<Pick<ScheduleRow, "state" | "nextRunAt" | "lastRunAt" | "lastRunId">>): void {
    this.transaction(() => {
      const current = this.getSchedule(id);
      if (current) this.putSchedule({ ...current, ...patch });
    });
  }
  deleteSchedule(id: string): void {
    this.transaction(() => {
      const changed = this.stmt("DELETE FROM schedules WHERE id = ?").run(id);
      if (!changed.changes) throw new IndexError("E_NOT_FOUND", `Schedule "${id}" is not registered.`, "List schedules with: orch schedule list");
    });
  }
}

/** The WHERE clause of `listRuns` / `countRuns`. */
function runFilter(options: Omit<ListRunsOptions, "limit" | "offset">): { where: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (options.pipeline) (where.push("pipeline = ?"), args.push(options.pipeline));
  if (options.status) {
    if (options.status === "interrupted") where.push("interrupted = 1");
    else (where.push("status = ?"), args.push(options.status));
  }
  if (options.stack) (where.push("stack = ?"), args.push(options.stack));
  if (options.scheduleId) (where.push("schedule_id = ?"), args.push(options.scheduleId));
  return { where: where.length ? `WHERE ${where.join(" AND ")}` : "", args };
}

function label(kind: ComponentKind): string {
  return kind === "orchestrator" ? "Orchestrator" : kind === "artifact-store" ? "Artifact store" : "Container registry";
}

function toComponent(row: Row): ComponentRow {
  return { kind: row.kind, name: row.name, flavor: row.flavor, config: parse(row.config, {}), package: opt(row.package), createdAt: row.created_at, updatedAt: row.updated_at };
}
function toStack(row: Row): StackRow {
  return { name: row.name, orchestrator: row.orchestrator, artifactStore: row.artifact_store, containerRegistry: opt(row.container_registry), createdAt: row.created_at, updatedAt: row.updated_at };
}
function toRun(row: Row): RunRow {
  return {
    runId: row.run_id,
    pipeline: row.pipeline,
    pipelineHash: opt(row.pipeline_hash),
    status: row.status,
    interrupted: row.interrupted === 1,
    stack: opt(row.stack),
    orchestrator: opt(row.orchestrator),
    startedAt: row.started_at,
    finishedAt: opt(row.finished_at),
    pid: opt(row.pid),
    pidStartTime: opt(row.pid_start_time),
    host: opt(row.host),
    parameters: parse(row.parameters, {}),
    error: parse(row.error, undefined),
    storeUri: opt(row.store_uri),
    storeFlavor: opt(row.store_flavor),
    scheduleId: opt(row.schedule_id),
    url: opt(row.url),
  };
}
function toStep(row: Row): StepRow {
  return {
    runId: row.run_id,
    stepId: row.step_id,
    name: row.name,
    status: row.status,
    attempts: row.attempts,
    startedAt: opt(row.started_at),
    finishedAt: opt(row.finished_at),
    durationMs: opt(row.duration_ms),
    cachedFrom: opt(row.cached_from),
    error: parse(row.error, undefined),
    outputs: parse(row.outputs, {}),
  };
}
function toSchedule(row: Row): ScheduleRow {
  return {
    id: row.id,
    pipeline: row.pipeline,
    stack: row.stack,
    sourceFile: row.source_file,
    exportName: opt(row.export_name),
    parameters: parse(row.parameters, {}),
    schedule: parse(row.schedule, {}),
    managedBy: row.managed_by,
    nativeId: opt(row.native_id),
    state: row.state,
    nextRunAt: opt(row.next_run_at),
    lastRunAt: opt(row.last_run_at),
    lastRunId: opt(row.last_run_id),
    createdAt: row.created_at,
  };
}
