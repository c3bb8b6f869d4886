/**
 * A loopback Airflow for tests: the stable REST API (v1 with basic auth for Airflow 2, v2 with a bearer
 * token from /auth/token for Airflow 3) over a DAG processor and an executor that really run what the
 * DAG files say.
 *
 * - DAG processor: DAG files placed in the DAGs folder (or returned by `readDags`, for a bucket) are
 *   parsed after `parseDelayMs` by importing them under the Python stand-ins (test/python): a new DAG
 *   appears paused, as with Airflow's default dags_are_paused_at_creation; an import error is kept.
 * - Scheduler + executor: a triggered DAG run stays queued while its DAG is paused, then runs its tasks
 *   in dependency order. Each task's templated fields are rendered for the run and try by the stand-ins;
 *   its container command runs as a child process (or in Docker with `docker: true` for DockerOperator
 *   tasks) with the environment the DAG declares (env_from Secrets from `secrets`, the env_file from the
 *   template search path). Retries follow retries / retry_delay / retry_exponential_backoff /
 *   max_retry_delay (times scaled by `timeScale`), execution_timeout kills the task, fail_fast/fail_stop
 *   stops the run at the first failure. PATCHing a DAG run to failed kills its running tasks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { randomUUID } from "node:crypto";
import { dumpDagFile, type DumpedDag, type DumpedTask } from "./python.js";

export interface FakeAirflowOptions {
  version?: 2 | 3;
  /** The folder the DAG processor reads (unless readDags is given). */
  dagsFolder?: string;
  /** Where DAG files come from when they are not in a local folder (an S3 / GCS DAGs bucket). */
  readDags?: () => Promise<{ name: string; source: string }[]>;
  username?: string;
  password?: string;
  parseDelayMs?: number;
  /** Kubernetes Secrets env_from can name: name → keys. */
  secrets?: Record<string, Record<string, string>>;
  /** Run DockerOperator tasks in the Docker engine (the image must exist); otherwise as processes. */
  docker?: boolean;
  /** Extra `docker run` arguments (e.g. mounts of the project the test "image" lacks). */
  dockerArgs?: string[];
  /** Environment every task process gets besides its own (PATH, HOME): the worker's. */
  workerEnv?: Record<string, string>;
  /** Multiplies retry delays (default 0.01: a 5 s delay takes 50 ms). */
  timeScale?: number;
}

type TaskState = "none" | "scheduled" | "queued" | "running" | "success" | "failed" | "up_for_retry" | "upstream_failed" | "skipped";

interface TaskInstance {
  task_id: string;
  state: TaskState;
  try_number: number;
  start_date: string | null;
  end_date: string | null;
  logs: Map<number, string[]>;
  /** The command line of the last try (`docker run …` for a DockerOperator task in Docker). */
  argv?: string[];
  process?: ChildProcess;
  timer?: NodeJS.Timeout;
  killedBy?: string;
}

interface DagRun {
  dag_id: string;
  dag_run_id: string;
  state: "queued" | "running" | "success" | "failed";
  conf: Record<string, unknown>;
  start_date: string | null;
  end_date: string | null;
  logical_date: string | null;
  tasks: Map<string, TaskInstance>;
  dag: DumpedDag;
  file: string;
}

interface DagEntry {
  dag_id: string;
  is_paused: boolean;
  description: string | null;
  fileloc: string;
  tags: { name: string }[];
  dump: DumpedDag;
  file: string;
}

export interface FakeAirflow {
  url: string;
  version: 2 | 3;
  dags: Map<string, DagEntry>;
  runs: Map<string, DagRun>;
  importErrors: Map<string, string>;
  /** Every request, "METHOD path" (no query), in order. */
  requests: string[];
  /** Waits until the DAG processor has parsed what is in the folder now. */
  settle(): Promise<void>;
  /** What Airflow's scheduler does when a DAG's schedule is due: a DAG run named scheduled__<logical date>. */
  triggerScheduled(dagId: string, logicalDate?: string): string;
  close(): Promise<void>;
}

const key = (dagId: string, runId: string) => `${dagId}/${runId}`;
const now = () => new Date().toISOString();
const DONE = new Set<TaskState>(["success", "failed", "upstream_failed", "skipped"]);

export async function startFakeAirflow(options: FakeAirflowOptions = {}): Promise<FakeAirflow> {
  const version = options.version ?? 3;
  const username = options.username ?? "admin";
  const password = options.password ?? "admin";
  const timeScale = options.timeScale ?? 0.01;
  const parseDelayMs = options.parseDelayMs ?? 300;
  const work = mkdtempSync(join(tmpdir(), "orch-fake-airflow-"));
  const dags = new Map<string, DagEntry>();
  const runs = new Map<string, DagRun>();
  const importErrors = new Map<string, string>();
  const requests: string[] = [];
  const tokens = new Set<string>();
  /** file name → content last parsed (or scheduled for parsing). */
  const seen = new Map<string, string>();
  const pending = new Set<Promise<void>>();
  let closed = false;

  // ── DAG processor ──────────────────────────────────────────────────────────────────────────────
  async function listFiles(): Promise<{ name: string; source: string }[]> {
    if (options.readDags) return options.readDags();
    const dir = options.dagsFolder;
    if (!dir || !existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((name) => name.endsWith(".py") && !name.startsWith("."))
      .filter((name) => statSync(join(dir, name)).isFile())
      .map((name) => ({ name, source: readFileSync(join(dir, name), "utf8") }));
  }

  function parse(name: string, source: string): void {
    const file = join(work, "dags", name);
    mkdirSync(join(work, "dags"), { recursive: true });
    writeFileSync(file, source);
    try {
      const dump = dumpDagFile(file, version);
      importErrors.delete(name);
      const existing = dags.get(dump.dag_id);
      const copy = join(work, `${dump.dag_id}-${randomUUID()}.py`);
      writeFileSync(copy, source);
      dags.set(dump.dag_id, {
        dag_id: dump.dag_id,
        is_paused: existing?.is_paused ?? dump.kwargs.is_paused_upon_creation ?? true,
        description: dump.kwargs.description ?? null,
        fileloc: name,
        tags: ((dump.kwargs.tags as string[] | undefined) ?? []).map((tag) => ({ name: tag })),
        dump,
        file: copy,
      });
    } catch (error) {
      importErrors.set(name, (error as Error).message);
    }
  }

  async function scan(): Promise<void> {
    const files = await listFiles().catch(() => undefined);
    if (!files) return;
    const names = new Set(files.map((f) => f.name));
    for (const [name] of seen) {
      if (names.has(name)) continue;
      seen.delete(name);
      // A removed file: its DAG goes away (Airflow marks it inactive; the API no longer lists it).
      for (const [id, entry] of dags) if (entry.fileloc === name) dags.delete(id);
    }
    for (const { name, source } of files) {
      if (seen.get(name) === source) continue;
      seen.set(name, source);
      const parsed = new Promise<void>((resolve) => setTimeout(resolve, parseDelayMs)).then(() => {
        if (!closed && seen.get(name) === source) parse(name, source);
      });
      pending.add(parsed);
      void parsed.finally(() => pending.delete(parsed));
    }
  }
  let scanning = false;
  const scanner = setInterval(() => {
    if (scanning) return;
    scanning = true;
    void scan().finally(() => (scanning = false));
  }, 100);

  // ── Scheduler and executor ─────────────────────────────────────────────────────────────────────
  function renderedTask(run: DagRun, taskId: string, tryNumber: number): DumpedTask {
    const dump = dumpDagFile(run.file, version, { runId: run.dag_run_id, tryNumber });
    return dump.tasks.find((t) => t.task_id === taskId)!;
  }

  const seconds = (value: unknown) => (value && typeof value === "object" && "timedelta" in value ? Number((value as { timedelta: number }).timedelta) : undefined);

  function tick(run: DagRun): void {
    if (run.state === "queued") {
      if (dags.get(run.dag_id)?.is_paused) return;
      run.state = "running";
      run.start_date = now();
    }
    if (run.state !== "running") return;
    for (const task of run.dag.tasks) {
      const ti = run.tasks.get(task.task_id)!;
      if (ti.state !== "none") continue;
      const ups = task.upstream.map((id) => run.tasks.get(id)!.state);
      if (ups.some((s) => s === "failed" || s === "upstream_failed")) {
        finishTask(run, ti, "upstream_failed");
      } else if (ups.some((s) => s === "skipped")) {
        finishTask(run, ti, "skipped");
      } else if (ups.every((s) => s === "success")) {
        ti.state = "queued";
        startTry(run, task, ti);
      }
    }
    const states = [...run.tasks.values()].map((t) => t.state);
    if (states.every((s) => DONE.has(s))) {
      run.state = states.every((s) => s === "success") ? "success" : "failed";
      run.end_date = now();
    }
  }

  function finishTask(run: DagRun, ti: TaskInstance, state: TaskState): void {
    ti.state = state;
    ti.end_date = now();
    ti.process = undefined;
    if (state === "failed" && (run.dag.kwargs.fail_fast || run.dag.kwargs.fail_stop)) {
      for (const other of run.tasks.values()) {
        if (other.state === "running") kill(other, "failed", "the DAG run failed fast");
        else if (!DONE.has(other.state)) {
          clearTimeout(other.timer);
          other.state = "skipped";
        }
      }
    }
    tick(run);
  }

  function kill(ti: TaskInstance, state: TaskState, why: string): void {
    clearTimeout(ti.timer);
    ti.killedBy = why;
    ti.state = state;
    ti.end_date = now();
    const child = ti.process;
    if (child?.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
    }
  }

  function startTry(run: DagRun, task: DumpedTask, ti: TaskInstance): void {
    ti.try_number += 1;
    ti.state = "running";
    ti.start_date ??= now();
    ti.end_date = null;
    ti.killedBy = undefined;
    const log: string[] = [];
    ti.logs.set(ti.try_number, log);
    const retries = Number(task.kwargs.retries ?? 0);
    log.push(`INFO - Starting attempt ${ti.try_number} of ${retries + 1}`);
    let rendered: DumpedTask;
    try {
      rendered = renderedTask(run, task.task_id, ti.try_number);
      if (rendered.render_error) throw new Error(rendered.render_error);
    } catch (error) {
      log.push(`ERROR - ${(error as Error).message}`);
      return endTry(run, task, ti, 1);
    }
    let spec: { argv: string[]; env: Record<string, string>; cwd?: string; docker?: string[] };
    try {
      spec = containerSpec(rendered);
    } catch (error) {
      log.push(`ERROR - ${(error as Error).message}`);
      return endTry(run, task, ti, 1);
    }
    const argv = spec.docker ?? spec.argv;
    ti.argv = argv;
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: spec.docker ? undefined : spec.cwd && existsSync(spec.cwd) ? spec.cwd : undefined,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.workerEnv, ...(spec.docker ? {} : spec.env) },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    ti.process = child;
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on("line", (line) => log.push(line));
    const timeout = seconds(task.kwargs.execution_timeout);
    if (timeout !== undefined) ti.timer = setTimeout(() => kill(ti, "running", `execution_timeout ${timeout}s`), timeout * 1000);
    child.on("error", (error) => log.push(`ERROR - ${error.message}`));
    child.on("close", (code, signal) => {
      clearTimeout(ti.timer);
      if (ti.process !== child) return;
      if (ti.killedBy) log.push(`ERROR - Task killed: ${ti.killedBy}`);
      log.push(`INFO - Task exited with return code ${code ?? signal}`);
      if (ti.state !== "running" || (ti.killedBy && !ti.killedBy.startsWith("execution_timeout"))) {
        ti.process = undefined;
        tick(run);
        return;
      }
      endTry(run, task, ti, ti.killedBy ? 1 : (code ?? 1));
    });
  }

  function endTry(run: DagRun, task: DumpedTask, ti: TaskInstance, code: number): void {
    ti.process = undefined;
    if (code === 0) return finishTask(run, ti, "success");
    const retries = Number(task.kwargs.retries ?? 0);
    if (ti.try_number <= retries && run.state === "running") {
      ti.state = "up_for_retry";
      const base = seconds(task.kwargs.retry_delay) ?? 300;
      let delay = task.kwargs.retry_exponential_backoff ? base * 2 ** (ti.try_number - 1) : base;
      const max = seconds(task.kwargs.max_retry_delay);
      if (max !== undefined) delay = Math.min(delay, max);
      ti.logs.get(ti.try_number)!.push(`INFO - Marking task as UP_FOR_RETRY; retrying in ${delay}s`);
      ti.timer = setTimeout(() => {
        if (ti.state === "up_for_retry" && run.state === "running") startTry(run, task, ti);
      }, delay * 1000 * timeScale);
      return;
    }
    finishTask(run, ti, "failed");
  }

  /** What the operator would run: the argv, env and working directory (or a `docker run` line). */
  function containerSpec(task: DumpedTask): { argv: string[]; env: Record<string, string>; cwd?: string; docker?: string[] } {
    const r = task.rendered ?? {};
    if (task.operator === "KubernetesPodOperator") {
      const env: Record<string, string> = {};
      for (const source of (r.env_from as { secret_ref?: { name: string } }[] | undefined) ?? []) {
        const name = source.secret_ref?.name;
        if (!name) continue;
        const secret = options.secrets?.[name];
        if (!secret) throw new Error(`pod failed to start: CreateContainerConfigError: secret "${name}" not found`);
        Object.assign(env, secret);
      }
      Object.assign(env, r.env_vars as Record<string, string>);
      const argv = [...((r.cmds as string[]) ?? []), ...((r.arguments as string[]) ?? [])];
      const projectRoot = argv[argv.indexOf("--project-root") + 1];
      return { argv, env, ...(projectRoot ? { cwd: projectRoot } : {}) };
    }
    const env: Record<string, string> = {};
    if (typeof r.env_file === "string") Object.assign(env, parseEnvFile(r.env_file));
    Object.assign(env, r.environment as Record<string, string>);
    const entrypoint = task.kwargs.entrypoint as string[] | string | undefined;
    const command = r.command as string[];
    const argv = [...(Array.isArray(entrypoint) ? entrypoint : entrypoint ? [entrypoint] : []), ...command];
    const cwd = task.kwargs.working_dir as string | undefined;
    if (!options.docker) return { argv, env, ...(cwd ? { cwd } : {}) };
    const network = (task.kwargs.network_mode as string | undefined) ?? "bridge";
    if (network !== "host" && network !== "none") throw new Error(`this test machine allows only host or none networks, not ${network}`);
    const docker = ["docker", "run", "--rm", "--network", network, "--user", `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`];
    for (const [name, value] of Object.entries(env)) docker.push("-e", `${name}=${value}`);
    for (const mount of (task.kwargs.mounts as { Source: string; Target: string; Type: string }[] | undefined) ?? []) docker.push("--mount", `type=${mount.Type},source=${mount.Source},target=${mount.Target}`);
    if (cwd) docker.push("-w", cwd);
    if (task.kwargs.mem_limit !== undefined) docker.push("--memory", String(task.kwargs.mem_limit));
    docker.push(...(options.dockerArgs ?? []));
    if (argv.length) docker.push("--entrypoint", argv[0]!);
    docker.push(String(r.image), ...argv.slice(1));
    return { argv, env, docker };
  }

  const runTicker = setInterval(() => {
    for (const run of runs.values()) if (run.state === "queued" || run.state === "running") tick(run);
  }, 50);

  // ── REST API ───────────────────────────────────────────────────────────────────────────────────
  const prefix = version === 3 ? "/api/v2" : "/api/v1";
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => problem(res, 500, "Internal Server Error", String((error as Error)?.stack ?? error)));
  });

  function send(res: ServerResponse, status: number, body?: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }
  /** Airflow 2 (connexion) answers problem-json; Airflow 3 (FastAPI) `{ "detail": … }`. */
  function problem(res: ServerResponse, status: number, title: string, detail: string): void {
    if (version === 3) return send(res, status, { detail });
    res.writeHead(status, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: `https://airflow.apache.org/docs/apache-airflow/2.10.0/stable-rest-api-ref.html#section/Errors/${title.replace(/ /g, "")}`, title, status, detail }));
  }
  async function body(req: IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? JSON.parse(text) : undefined;
  }
  const dagJson = (d: DagEntry) => ({ dag_id: d.dag_id, is_paused: d.is_paused, is_active: true, description: d.description, fileloc: d.fileloc, tags: d.tags, owners: ["orch"] });
  const runJson = (r: DagRun) => ({ dag_id: r.dag_id, dag_run_id: r.dag_run_id, state: r.state, conf: r.conf, start_date: r.start_date, end_date: r.end_date, logical_date: r.logical_date, run_type: "manual" });
  const tiJson = (r: DagRun, t: TaskInstance) => ({
    dag_id: r.dag_id,
    dag_run_id: r.dag_run_id,
    task_id: t.task_id,
    map_index: -1,
    state: t.state === "none" ? null : t.state,
    try_number: t.try_number,
    start_date: t.start_date,
    end_date: t.end_date,
  });
  function page<T>(items: T[], url: URL): { items: T[]; total: number } {
    const limit = Number(url.searchParams.get("limit") ?? 100);
    const offset = Number(url.searchParams.get("offset") ?? 0);
    return { items: items.slice(offset, offset + limit), total: items.length };
  }

  function newRun(dag: DagEntry, runId: string, conf: Record<string, unknown>, logicalDate: string | null): DagRun {
    const run: DagRun = {
      dag_id: dag.dag_id,
      dag_run_id: runId,
      state: "queued",
      conf,
      start_date: null,
      end_date: null,
      logical_date: logicalDate,
      tasks: new Map(dag.dump.tasks.map((t) => [t.task_id, { task_id: t.task_id, state: "none" as TaskState, try_number: 0, start_date: null, end_date: null, logs: new Map() }])),
      dag: dag.dump,
      file: dag.file,
    };
    runs.set(key(dag.dag_id, runId), run);
    return run;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    requests.push(`${method} ${url.pathname}`);
    if (version === 3 && url.pathname === "/auth/token" && method === "POST") {
      const creds = await body(req);
      if (creds?.username !== username || creds?.password !== password) return problem(res, 401, "Unauthorized", "Invalid credentials");
      const token = randomUUID();
      tokens.add(token);
      return send(res, 201, { access_token: token, token_type: "bearer" });
    }
    if (!url.pathname.startsWith(`${prefix}/`)) return problem(res, 404, "Not Found", `The requested URL ${url.pathname} was not found on the server.`);
    const auth = req.headers.authorization ?? "";
    const authorized =
      version === 3 ? auth.startsWith("Bearer ") && tokens.has(auth.slice(7)) : auth === `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    if (!authorized) return problem(res, 401, "Unauthorized", version === 3 ? "Not authenticated" : "Unauthorized");
    const parts = url.pathname.slice(prefix.length + 1).split("/").map(decodeURIComponent);

    if (parts[0] === "dags" && parts.length === 1 && method === "GET") {
      const tags = url.searchParams.getAll("tags");
      const all = [...dags.values()].filter((d) => tags.every((tag) => d.tags.some((t) => t.name === tag))).sort((a, b) => a.dag_id.localeCompare(b.dag_id));
      const { items, total } = page(all.map(dagJson), url);
      return send(res, 200, { dags: items, total_entries: total });
    }
    if (parts[0] !== "dags" || !parts[1]) return problem(res, 404, "Not Found", `no route for ${method} ${url.pathname}`);
    const dag = dags.get(parts[1]);
    if (!dag) return problem(res, 404, "DAG not found", `DAG with dag_id: '${parts[1]}' not found`);
    if (parts.length === 2) {
      if (method === "GET") return send(res, 200, dagJson(dag));
      if (method === "PATCH") {
        const patch = await body(req);
        if (typeof patch?.is_paused === "boolean") dag.is_paused = patch.is_paused;
        return send(res, 200, dagJson(dag));
      }
      if (method === "DELETE") {
        if (existsSync(join(options.dagsFolder ?? "/nonexistent", dag.fileloc)) && !options.readDags) {
          return problem(res, 409, "Conflict", `The DAG ${dag.dag_id} is still present in its file ${dag.fileloc}; remove the file first`);
        }
        dags.delete(dag.dag_id);
        for (const [id, run] of runs) if (run.dag_id === dag.dag_id) runs.delete(id);
        res.writeHead(204).end();
        return;
      }
    }
    if (parts[2] !== "dagRuns") return problem(res, 404, "Not Found", `no route for ${method} ${url.pathname}`);
    if (parts.length === 3 && method === "POST") {
      const request = await body(req);
      if (version === 3 && !(request && "logical_date" in request)) return send(res, 422, { detail: [{ type: "missing", loc: ["body", "logical_date"], msg: "Field required" }] });
      const runId = String(request?.dag_run_id ?? `manual__${now()}`);
      if (runs.has(key(dag.dag_id, runId))) return problem(res, 409, "Conflict", `DAGRun with DAG ID: '${dag.dag_id}' and DAGRun ID: '${runId}' already exists`);
      const run = newRun(dag, runId, request?.conf ?? {}, request?.logical_date ?? (version === 2 ? now() : null));
      return send(res, 200, runJson(run));
    }
    const run = parts[3] ? runs.get(key(dag.dag_id, parts[3])) : undefined;
    if (!run) return problem(res, 404, "DAGRun not found", `DAGRun with DAG ID: '${dag.dag_id}' and DagRun ID: '${parts[3]}' not found`);
    if (parts.length === 4) {
      if (method === "GET") return send(res, 200, runJson(run));
      if (method === "PATCH") {
        const patch = await body(req);
        if (patch?.state === "failed") {
          run.state = "failed";
          run.end_date = now();
          for (const ti of run.tasks.values()) {
            if (ti.state === "running") kill(ti, "failed", "the DAG run was marked failed");
            else if (!DONE.has(ti.state)) {
              clearTimeout(ti.timer);
              ti.state = "skipped";
            }
          }
        } else if (patch?.state === "success" || patch?.state === "queued") run.state = patch.state;
        else return problem(res, 400, "Bad Request", `'${patch?.state}' is not one of ['success', 'failed', 'queued'] - 'state'`);
        return send(res, 200, runJson(run));
      }
    }
    if (parts[4] === "taskInstances" && parts.length === 5 && method === "GET") {
      const { items, total } = page([...run.tasks.values()].map((t) => tiJson(run, t)), url);
      return send(res, 200, { task_instances: items, total_entries: total });
    }
    const ti = parts[5] ? run.tasks.get(parts[5]) : undefined;
    if (parts[4] === "taskInstances" && !ti) return problem(res, 404, "Task instance not found", `Task instance not found for ${parts[5]}`);
    if (ti && parts.length === 6 && method === "GET") return send(res, 200, tiJson(run, ti));
    if (ti && parts[6] === "logs" && parts[7] && method === "GET") {
      const tryNumber = Number(parts[7]);
      const lines = ti.logs.get(tryNumber);
      if (!lines) return problem(res, 404, "TaskInstance not found", `Task instance did not exist in the DB for try ${tryNumber}`);
      if (version === 3) return send(res, 200, { content: lines.map((event) => ({ timestamp: now(), event })), continuation_token: null });
      if ((req.headers.accept ?? "").includes("text/plain")) {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(lines.join("\n"));
        return;
      }
      return send(res, 200, { content: lines.join("\n"), continuation_token: "end" });
    }
    return problem(res, 404, "Not Found", `no route for ${method} ${url.pathname}`);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    version,
    dags,
    runs,
    importErrors,
    requests,
    triggerScheduled(dagId, logicalDate = "2026-11-30T02:30:00+00:00") {
      const dag = dags.get(dagId);
      if (!dag) throw new Error(`no DAG ${dagId}`);
      if (!dag.dump.kwargs.schedule) throw new Error(`DAG ${dagId} has no schedule`);
      const runId = `scheduled__${logicalDate}`;
      newRun(dag, runId, {}, logicalDate);
      return runId;
    },
    async settle() {
      await scan();
      await Promise.all([...pending]);
    },
    async close() {
      closed = true;
      clearInterval(scanner);
      clearInterval(runTicker);
      for (const run of runs.values()) for (const ti of run.tasks.values()) if (ti.process) kill(ti, "failed", "the server shut down");
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A .env file as python-dotenv reads it (KEY=VALUE lines, # comments, optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    env[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, "$2");
  }
  return env;
}
