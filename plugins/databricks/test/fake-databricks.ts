/**
 * A loopback Databricks workspace for tests: it speaks the Jobs API 2.2 (plus the Workspace and Secrets
 * calls orch makes) the way Databricks does — `{error_code, message}` bodies with the matching status,
 * `has_more`/`next_page_token` paging, idempotency tokens on run-now, run and task life cycles
 * (PENDING → RUNNING → TERMINATING → TERMINATED, WAITING_FOR_RETRY between attempts), `runs/cancel`,
 * and `runs/get-output` for task runs only — and it EXECUTES what it was given: each task of the
 * submitted JobSettings in `depends_on` order (honouring `run_if`), running its spark_python_task file
 * from the workspace with python3, its parameters' `{{job.…}}` references resolved and its cluster's
 * `spark_env_vars` (with `{{secrets/…}}` resolved) as the whole environment, honouring `max_retries`,
 * `min_retry_interval_millis` and `timeout_seconds`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobSettings, JobTask, LifeCycleState, ResultState } from "../src/api-types.js";

interface TaskRun {
  run_id: number;
  task_key: string;
  attempt_number: number;
  state: { life_cycle_state: LifeCycleState; result_state?: ResultState; state_message?: string };
  logs: string;
  error?: string;
  start_time?: number;
  end_time?: number;
  process?: ChildProcess;
}

interface JobRun {
  job_id: number;
  run_id: number;
  settings: JobSettings;
  parameters: Record<string, string>;
  state: { life_cycle_state: LifeCycleState; result_state?: ResultState; state_message?: string };
  tasks: TaskRun[];
  cancelled: boolean;
}

export interface FakeDatabricksOptions {
  /** A personal access token the server accepts. */
  token?: string;
  /** An OAuth M2M client the server issues tokens to. */
  client?: { id: string; secret: string; expiresIn?: number };
  /** Multiplies min_retry_interval_millis and the PENDING time (default 0.01). */
  timeScale?: number;
  /** Tasks per runs/get page (Databricks: 100). */
  tasksPageSize?: number;
  /** How the python file runs (default python3). */
  python?: string;
}

export interface FakeDatabricks {
  url: string;
  jobs: Map<number, { job_id: number; settings: JobSettings; created_time: number }>;
  runs: Map<number, JobRun>;
  workspace: Map<string, string>;
  secrets: Map<string, string>;
  /** Every request as "METHOD /path". */
  requests: string[];
  tokensIssued: number;
  /** Answers the next `times` requests to `path` with `status` (429 carries Retry-After: 1). */
  failNext(path: string, status: number, times?: number, errorCode?: string): void;
  close(): Promise<void>;
}

/** How long a cancelled task's processes get to end before they are killed. */
const CANCEL_GRACE_MS = 20_000;
const TERMINAL = new Set<LifeCycleState>(["TERMINATED", "SKIPPED", "INTERNAL_ERROR"]);

export async function startFakeDatabricks(options: FakeDatabricksOptions = {}): Promise<FakeDatabricks> {
  const scale = options.timeScale ?? 0.01;
  const dir = await mkdtemp(join(tmpdir(), "orch-fake-dbx-"));
  const jobs: FakeDatabricks["jobs"] = new Map();
  const runs: FakeDatabricks["runs"] = new Map();
  const workspace = new Map<string, string>();
  const secrets = new Map<string, string>();
  const scopes = new Set<string>();
  const tokens = new Set<string>();
  const idempotency = new Map<string, number>();
  const failures = new Map<string, { status: number; times: number; errorCode?: string }>();
  const requests: string[] = [];
  let nextId = 1000;
  let tokensIssued = 0;
  let url = "";

  class ApiError extends Error {
    constructor(
      readonly status: number,
      readonly errorCode: string,
      message: string,
    ) {
      super(message);
    }
  }
  const invalid = (message: string) => new ApiError(400, "INVALID_PARAMETER_VALUE", message);
  const notFound = (message: string) => new ApiError(404, "RESOURCE_DOES_NOT_EXIST", message);

  function validateSettings(settings: JobSettings): void {
    if (!settings || typeof settings.name !== "string") throw invalid("Job settings must have a name.");
    const keys = new Set<string>();
    for (const task of settings.tasks ?? []) {
      if (!/^[\w\-.]{1,100}$/.test(task.task_key ?? "")) throw invalid(`Invalid task_key: ${task.task_key}`);
      if (keys.has(task.task_key)) throw invalid(`Task key ${task.task_key} is duplicated.`);
      keys.add(task.task_key);
    }
    const clusters = new Set((settings.job_clusters ?? []).map((c) => c.job_cluster_key));
    for (const task of settings.tasks ?? []) {
      for (const dep of task.depends_on ?? []) if (!keys.has(dep.task_key)) throw invalid(`Task ${task.task_key} depends on ${dep.task_key}, which is not a task of this job.`);
      if (task.job_cluster_key && !clusters.has(task.job_cluster_key)) throw invalid(`Task ${task.task_key} refers to job cluster ${task.job_cluster_key}, which is not defined.`);
      if (task.spark_python_task && task.spark_python_task.source === "WORKSPACE" && !task.spark_python_task.python_file.startsWith("/")) throw invalid("python_file must be an absolute workspace path.");
    }
    if (settings.schedule && !/^\S+ \S+ \S+ \S+ \S+ \S+( \S+)?$/.test(settings.schedule.quartz_cron_expression)) throw invalid(`Invalid Quartz cron expression: ${settings.schedule.quartz_cron_expression}`);
  }

  const runJson = (run: JobRun, pageToken?: string) => {
    const size = options.tasksPageSize ?? 100;
    const start = pageToken ? Number(pageToken) : 0;
    const page = run.tasks.slice(start, start + size);
    const more = start + size < run.tasks.length;
    return {
      job_id: run.job_id,
      run_id: run.run_id,
      run_page_url: `${url}/?o=0#job/${run.job_id}/run/${run.run_id}`,
      state: run.state,
      job_parameters: Object.entries(run.parameters).map(([name, value]) => ({ name, value })),
      tasks: page.map(({ process: _p, logs: _l, error: _e, ...task }) => task),
      ...(more ? { has_more: true, next_page_token: String(start + size) } : {}),
    };
  };

  /** `{{job.parameters.x}}`, `{{job.run_id}}`, `{{job.id}}`, `{{task.run_id}}` as Databricks resolves them. */
  const resolveReferences = (value: string, run: JobRun, task: TaskRun) =>
    value.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, ref: string) => {
      if (ref.startsWith("job.parameters.")) return run.parameters[ref.slice("job.parameters.".length)] ?? whole;
      if (ref === "job.run_id") return String(run.run_id);
      if (ref === "job.id") return String(run.job_id);
      if (ref === "task.run_id") return String(task.run_id);
      return whole;
    });

  const resolveSecret = (value: string) =>
    value.replace(/\{\{secrets\/([\w.-]+)\/([\w.-]+)\}\}/g, (whole, scope: string, key: string) => {
      const found = secrets.get(`${scope}/${key}`);
      if (found === undefined) throw new Error(`secret ${scope}/${key} does not exist`);
      return found;
    });

  async function runTaskAttempt(run: JobRun, task: JobTask, attempt: TaskRun): Promise<void> {
    const cluster = run.settings.job_clusters.find((c) => c.job_cluster_key === task.job_cluster_key)?.new_cluster;
    const python = task.spark_python_task;
    attempt.state = { life_cycle_state: "RUNNING" };
    attempt.start_time = Date.now();
    if (!python || !cluster) {
      attempt.state = { life_cycle_state: "INTERNAL_ERROR", result_state: "FAILED", state_message: "the fake workspace runs spark_python_task on job clusters only" };
      return;
    }
    const source = workspace.get(python.python_file);
    if (source === undefined) {
      attempt.state = { life_cycle_state: "INTERNAL_ERROR", result_state: "FAILED", state_message: `${python.python_file} does not exist in the workspace` };
      return;
    }
    const file = join(dir, `task-${attempt.run_id}.py`);
    await writeFile(file, source);
    let env: Record<string, string>;
    try {
      env = Object.fromEntries(Object.entries(cluster.spark_env_vars ?? {}).map(([k, v]) => [k, resolveSecret(v)]));
    } catch (error) {
      attempt.state = { life_cycle_state: "INTERNAL_ERROR", result_state: "FAILED", state_message: (error as Error).message };
      return;
    }
    // What a container has besides spark_env_vars: a PATH and a home; nothing of the test's environment.
    env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", TMPDIR: dir, ...env };
    const args = (python.parameters ?? []).map((p) => resolveReferences(p, run, attempt));
    await new Promise<void>((resolve) => {
      // Its own process group: cancelling ends the whole task as a cluster's teardown would.
      const child = spawn(options.python ?? "python3", [file, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      attempt.process = child;
      child.stdout!.on("data", (d: Buffer) => (attempt.logs += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (attempt.logs += d.toString()));
      let timedOut = false;
      const timer = task.timeout_seconds ? setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid!, "SIGKILL");
            } catch {
              // already gone
            }
          }, task.timeout_seconds * 1000) : undefined;
      child.on("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        attempt.process = undefined;
        attempt.end_time = Date.now();
        if (run.cancelled) attempt.state = { life_cycle_state: "TERMINATED", result_state: "CANCELED", state_message: "Run cancelled." };
        else if (timedOut) attempt.state = { life_cycle_state: "TERMINATED", result_state: "TIMEDOUT", state_message: `Task timed out after ${task.timeout_seconds} seconds.` };
        else if (code === 0) attempt.state = { life_cycle_state: "TERMINATED", result_state: "SUCCESS", state_message: "" };
        else {
          attempt.state = { life_cycle_state: "TERMINATED", result_state: "FAILED", state_message: `Workload failed, see run output for details` };
          attempt.error = `Process exited with code ${code ?? signal}`;
        }
        resolve();
      });
    });
  }

  async function runTask(run: JobRun, task: JobTask, first: TaskRun): Promise<ResultState> {
    let attempt = first;
    for (;;) {
      await runTaskAttempt(run, task, attempt);
      const result = attempt.state.result_state!;
      const retryable = result === "FAILED" || (result === "TIMEDOUT" && task.retry_on_timeout);
      if (!retryable || run.cancelled || attempt.attempt_number >= (task.max_retries ?? 0)) return result;
      const next: TaskRun = { run_id: nextId++, task_key: task.task_key, attempt_number: attempt.attempt_number + 1, state: { life_cycle_state: "WAITING_FOR_RETRY" }, logs: "" };
      run.tasks.push(next);
      await new Promise((r) => setTimeout(r, (task.min_retry_interval_millis ?? 0) * scale));
      if (run.cancelled) {
        next.state = { life_cycle_state: "TERMINATED", result_state: "CANCELED" };
        return "CANCELED";
      }
      attempt = next;
    }
  }

  /** Runs the job's tasks; a repair (`rerun`) runs only those, the others keep their last result. */
  async function execute(run: JobRun, rerun?: Set<string>): Promise<void> {
    run.state = { life_cycle_state: "PENDING", state_message: "Waiting for cluster" };
    await new Promise((r) => setTimeout(r, 2000 * scale));
    if (!run.cancelled) run.state = { life_cycle_state: "RUNNING", state_message: "" };
    const results = new Map<string, ResultState>();
    if (rerun) for (const task of run.tasks) if (!rerun.has(task.task_key)) results.set(task.task_key, task.state.result_state!);
    const pending = new Map(run.settings.tasks.filter((t) => !rerun || rerun.has(t.task_key)).map((t) => [t.task_key, t]));
    const running = new Map<string, Promise<void>>();
    while (pending.size || running.size) {
      for (const [key, task] of pending) {
        const deps = (task.depends_on ?? []).map((d) => d.task_key);
        if (!deps.every((d) => results.has(d))) continue;
        pending.delete(key);
        const depResults = deps.map((d) => results.get(d)!);
        const runIf = task.run_if ?? "ALL_SUCCESS";
        const blocked = run.cancelled
          ? "UPSTREAM_CANCELED"
          : runIf === "ALL_SUCCESS" && depResults.some((r) => r !== "SUCCESS")
            ? depResults.includes("CANCELED") || depResults.includes("UPSTREAM_CANCELED") ? "UPSTREAM_CANCELED" : "UPSTREAM_FAILED"
            : undefined;
        const taskRun: TaskRun = { run_id: nextId++, task_key: key, attempt_number: 0, state: { life_cycle_state: "PENDING" }, logs: "" };
        run.tasks.push(taskRun);
        if (blocked) {
          taskRun.state = { life_cycle_state: "SKIPPED", result_state: blocked as ResultState, state_message: "Upstream task(s) did not succeed" };
          results.set(key, blocked as ResultState);
          continue;
        }
        running.set(key, runTask(run, task, taskRun).then((result) => void results.set(key, result)).finally(() => running.delete(key)));
      }
      if (running.size) await Promise.race(running.values());
      else if (pending.size) break; // unsatisfiable dependencies (validated at create, so never)
    }
    run.state = { life_cycle_state: "TERMINATING", state_message: "" };
    await new Promise((r) => setTimeout(r, 500 * scale));
    const all = [...results.values()];
    const result: ResultState = run.cancelled ? "CANCELED" : all.every((r) => r === "SUCCESS") ? "SUCCESS" : "FAILED";
    run.state = { life_cycle_state: "TERMINATED", result_state: result, state_message: result === "SUCCESS" ? "" : result === "CANCELED" ? "Run cancelled." : "Task(s) failed" };
  }

  async function handle(method: string, path: string, query: URLSearchParams, body: Record<string, any>, auth: string | undefined): Promise<unknown> {
    if (path === "/oidc/v1/token" && method === "POST") {
      const [id, secret] = Buffer.from((auth ?? "").replace(/^Basic /, ""), "base64").toString().split(":");
      if (!options.client || id !== options.client.id || secret !== options.client.secret) throw new ApiError(401, "invalid_client", "Client authentication failed");
      const token = `oauth-${++tokensIssued}`;
      tokens.add(token);
      return { access_token: token, token_type: "Bearer", expires_in: options.client.expiresIn ?? 3600 };
    }
    const bearer = auth?.replace(/^Bearer /, "");
    if (!bearer || (bearer !== options.token && !tokens.has(bearer))) throw new ApiError(401, "UNAUTHENTICATED", "Invalid access token.");
    const id = (value: unknown, name: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw invalid(`${name} must be a positive integer`);
      return n;
    };
    const job = (jobId: number) => {
      const found = jobs.get(jobId);
      if (!found) throw notFound(`Job ${jobId} does not exist.`);
      return found;
    };
    const runOf = (runId: number) => {
      const found = runs.get(runId);
      if (found) return { run: found };
      for (const run of runs.values()) {
        const task = run.tasks.find((t) => t.run_id === runId);
        if (task) return { run, task };
      }
      throw notFound(`Run ${runId} does not exist.`);
    };
    switch (`${method} ${path}`) {
      case "POST /api/2.0/workspace/mkdirs":
        return {};
      case "POST /api/2.0/workspace/import":
        if (!String(body.path ?? "").startsWith("/")) throw invalid("Path must be absolute.");
        if (workspace.has(body.path) && !body.overwrite) throw new ApiError(400, "RESOURCE_ALREADY_EXISTS", `${body.path} already exists.`);
        workspace.set(body.path, Buffer.from(String(body.content ?? ""), "base64").toString());
        return {};
      case "POST /api/2.0/secrets/scopes/create":
        if (scopes.has(body.scope)) throw new ApiError(400, "RESOURCE_ALREADY_EXISTS", `Scope ${body.scope} already exists!`);
        scopes.add(body.scope);
        return {};
      case "POST /api/2.0/secrets/put":
        if (!scopes.has(body.scope)) throw notFound(`Scope ${body.scope} does not exist!`);
        secrets.set(`${body.scope}/${body.key}`, String(body.string_value));
        return {};
      case "POST /api/2.2/jobs/create": {
        validateSettings(body as JobSettings);
        const jobId = nextId++;
        jobs.set(jobId, { job_id: jobId, settings: structuredClone(body as JobSettings), created_time: Date.now() });
        return { job_id: jobId };
      }
      case "POST /api/2.2/jobs/reset": {
        const found = job(id(body.job_id, "job_id"));
        if (!body.new_settings) throw invalid("new_settings is required");
        validateSettings(body.new_settings);
        found.settings = structuredClone(body.new_settings);
        return {};
      }
      case "GET /api/2.2/jobs/get":
        return job(id(query.get("job_id"), "job_id"));
      case "POST /api/2.2/jobs/delete":
        job(id(body.job_id, "job_id"));
        jobs.delete(Number(body.job_id));
        return {};
      case "GET /api/2.2/jobs/list": {
        const limit = Number(query.get("limit") ?? 20);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid("limit must be between 1 and 100");
        const name = query.get("name");
        const all = [...jobs.values()].filter((j) => !name || j.settings.name === name);
        const start = Number(query.get("page_token") ?? 0);
        const page = all.slice(start, start + limit).map((j) => ({ job_id: j.job_id, created_time: j.created_time, settings: { ...j.settings, tasks: undefined, job_clusters: undefined } }));
        return { jobs: page, has_more: start + limit < all.length, ...(start + limit < all.length ? { next_page_token: String(start + limit) } : {}) };
      }
      case "POST /api/2.2/jobs/run-now": {
        const found = job(id(body.job_id, "job_id"));
        const token = body.idempotency_token as string | undefined;
        if (token !== undefined && (typeof token !== "string" || token.length > 64)) throw invalid("idempotency_token must be at most 64 characters");
        if (token && idempotency.has(token)) return { run_id: idempotency.get(token), number_in_job: idempotency.get(token) };
        const parameters: Record<string, string> = Object.fromEntries((found.settings.parameters ?? []).map((p) => [p.name, p.default]));
        for (const [name, value] of Object.entries((body.job_parameters ?? {}) as Record<string, string>)) {
          if (!(name in parameters)) throw invalid(`Job parameter ${name} is not defined in the job.`);
          parameters[name] = String(value);
        }
        const run: JobRun = { job_id: found.job_id, run_id: nextId++, settings: structuredClone(found.settings), parameters, state: { life_cycle_state: "QUEUED" }, tasks: [], cancelled: false };
        runs.set(run.run_id, run);
        if (token) idempotency.set(token, run.run_id);
        void execute(run);
        return { run_id: run.run_id, number_in_job: run.run_id };
      }
      case "GET /api/2.2/jobs/runs/get": {
        const { run, task } = runOf(id(query.get("run_id"), "run_id"));
        if (task) return { ...task, process: undefined, logs: undefined, error: undefined };
        return runJson(run, query.get("page_token") ?? undefined);
      }
      case "POST /api/2.2/jobs/runs/repair": {
        const { run, task } = runOf(id(body.run_id, "run_id"));
        if (task) throw invalid("Only job runs can be repaired, not task runs.");
        if (!TERMINAL.has(run.state.life_cycle_state)) throw new ApiError(400, "INVALID_STATE", `Run ${run.run_id} is not terminated; only terminated runs can be repaired.`);
        const keys = new Set(run.settings.tasks.map((t) => t.task_key));
        const rerun = (body.rerun_tasks ?? []) as string[];
        if (!rerun.length && !body.rerun_all_failed_tasks) throw invalid("rerun_tasks or rerun_all_failed_tasks is required.");
        for (const key of rerun) if (!keys.has(key)) throw invalid(`Task ${key} is not a task of run ${run.run_id}.`);
        run.cancelled = false;
        run.state = { life_cycle_state: "QUEUED" };
        void execute(run, new Set(rerun));
        return { repair_id: nextId++ };
      }
      case "POST /api/2.2/jobs/runs/cancel": {
        const { run } = runOf(id(body.run_id, "run_id"));
        if (TERMINAL.has(run.state.life_cycle_state)) return {};
        run.cancelled = true;
        run.state = { life_cycle_state: "TERMINATING", state_message: "Run is being cancelled" };
        for (const task of run.tasks) {
          const child = task.process;
          if (!child?.pid) continue;
          child.kill("SIGTERM");
          // What is still running after the grace period goes with the cluster.
          setTimeout(() => {
            try {
              process.kill(-child.pid!, "SIGKILL");
            } catch {
              // already gone
            }
          }, CANCEL_GRACE_MS).unref();
        }
        return {};
      }
      case "GET /api/2.2/jobs/runs/get-output": {
        const { run, task } = runOf(id(query.get("run_id"), "run_id"));
        if (!task) throw invalid("Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.");
        return { logs: task.logs, logs_truncated: false, ...(task.error ? { error: task.error } : {}), metadata: { job_id: run.job_id, run_id: task.run_id, task_key: task.task_key, state: task.state } };
      }
      default:
        throw new ApiError(404, "ENDPOINT_NOT_FOUND", `No API found for '${method} ${path}'`);
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
      requests.push(`${req.method} ${parsed.pathname}`);
      const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(payload));
      };
      const failure = failures.get(parsed.pathname);
      if (failure && failure.times > 0) {
        failure.times--;
        const code = failure.errorCode ?? (failure.status === 429 ? "REQUEST_LIMIT_EXCEEDED" : "TEMPORARILY_UNAVAILABLE");
        return reply(failure.status, { error_code: code, message: "injected failure" }, failure.status === 429 ? { "retry-after": "1" } : {});
      }
      let body: Record<string, any> = {};
      try {
        const text = Buffer.concat(chunks).toString();
        if (text && req.headers["content-type"]?.includes("json")) body = JSON.parse(text);
        else if (text) body = Object.fromEntries(new URLSearchParams(text));
      } catch {
        return reply(400, { error_code: "MALFORMED_REQUEST", message: "Invalid JSON given in the body of the request" });
      }
      handle(req.method ?? "GET", parsed.pathname, parsed.searchParams, body, req.headers.authorization).then(
        (payload) => reply(200, payload),
        (error: unknown) => {
          if (error instanceof ApiError) return reply(error.status, error.errorCode === "invalid_client" ? { error: "invalid_client", error_description: error.message } : { error_code: error.errorCode, message: error.message });
          reply(500, { error_code: "INTERNAL_ERROR", message: String((error as Error)?.message ?? error) });
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    jobs,
    runs,
    workspace,
    secrets,
    requests,
    get tokensIssued() {
      return tokensIssued;
    },
    failNext(path, status, times = 1, errorCode) {
      failures.set(path, { status, times, ...(errorCode ? { errorCode } : {}) });
    },
    async close() {
      for (const run of runs.values()) {
        run.cancelled = true;
        for (const task of run.tasks) {
          try {
            if (task.process?.pid) process.kill(-task.process.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
