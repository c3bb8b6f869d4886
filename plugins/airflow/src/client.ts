/**
 * A small client of Airflow's stable REST API: v1 (Airflow 2, basic auth) and v2 (Airflow 3, a bearer
 * token from the auth manager's `/auth/token`). Only what the flavor uses: DAGs, DAG runs, task
 * instances and their logs. Errors are OrchErrors that name the request and carry Airflow's
 * problem-json `title`/`detail`.
 */
import { OrchError } from "@orch/core/plugin";
import type { AirflowOrchestratorConfig } from "./config.js";

export type DagRunState = "queued" | "running" | "success" | "failed";

export interface AirflowDag {
  dag_id: string;
  is_paused: boolean;
  description?: string | null;
  /** v1 */
  file_token?: string;
  fileloc?: string;
}

export interface AirflowDagRun {
  dag_id: string;
  dag_run_id: string;
  state: DagRunState;
  start_date?: string | null;
  end_date?: string | null;
  conf?: Record<string, unknown>;
}

export interface AirflowTaskInstance {
  task_id: string;
  state: string | null;
  try_number: number;
  start_date?: string | null;
  end_date?: string | null;
}

/** An HTTP error of the API, with its status, so callers can tell "not found" from "broken". */
export class AirflowApiError extends OrchError {
  constructor(
    readonly status: number,
    what: string,
    detail: string,
    hint: string,
  ) {
    super(status === 401 || status === 403 ? "E_CONFIG_INVALID" : "E_BACKEND_UNAVAILABLE", { message: `Airflow API: ${what} failed with HTTP ${status}: ${detail}`, hint });
  }
}

export class AirflowClient {
  readonly apiBase: string;
  private token: string | undefined;

  constructor(private readonly config: AirflowOrchestratorConfig) {
    this.apiBase = `${config.host.replace(/\/+$/, "")}/api/v${config.airflowVersion === 3 ? 2 : 1}`;
    this.token = config.token;
  }

  async getDag(dagId: string): Promise<AirflowDag | undefined> {
    return this.request<AirflowDag>("GET", `/dags/${enc(dagId)}`, `reading DAG ${dagId}`, { notFound: true });
  }

  async setPaused(dagId: string, paused: boolean): Promise<void> {
    await this.request("PATCH", `/dags/${enc(dagId)}?update_mask=is_paused`, `${paused ? "pausing" : "unpausing"} DAG ${dagId}`, { body: { is_paused: paused } });
  }

  async deleteDag(dagId: string): Promise<void> {
    await this.request("DELETE", `/dags/${enc(dagId)}`, `deleting DAG ${dagId}`, { notFound: true });
  }

  async listDags(tag: string): Promise<AirflowDag[]> {
    return this.paged<AirflowDag>(`/dags?tags=${enc(tag)}`, "dags", "listing DAGs");
  }

  /** Triggers a DAG run named `runId`; an existing run of that id is an error naming it. */
  async triggerDagRun(dagId: string, runId: string, conf: Record<string, unknown>): Promise<AirflowDagRun> {
    // Airflow 3 requires logical_date (null: a run not tied to a data interval); Airflow 2 fills it in.
    const body = this.config.airflowVersion === 3 ? { dag_run_id: runId, logical_date: null, conf } : { dag_run_id: runId, conf };
    try {
      return (await this.request<AirflowDagRun>("POST", `/dags/${enc(dagId)}/dagRuns`, `triggering DAG ${dagId}`, { body }))!;
    } catch (error) {
      if (error instanceof AirflowApiError && error.status === 409) {
        throw new OrchError("E_RUN_EXISTS", { message: `DAG ${dagId} already has a DAG run with id ${runId}.`, hint: "Use a new run id (leave it out to get a generated one)." });
      }
      throw error;
    }
  }

  async getDagRun(dagId: string, runId: string): Promise<AirflowDagRun | undefined> {
    return this.request<AirflowDagRun>("GET", `/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, `reading DAG run ${runId}`, { notFound: true });
  }

  /** Marks a DAG run failed: Airflow stops its running tasks and skips the rest (the stop of `orch run stop`). */
  async failDagRun(dagId: string, runId: string): Promise<void> {
    await this.request("PATCH", `/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, `stopping DAG run ${runId}`, { body: { state: "failed" } });
  }

  async taskInstances(dagId: string, runId: string): Promise<AirflowTaskInstance[]> {
    return this.paged<AirflowTaskInstance>(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`, "task_instances", `listing task instances of DAG run ${runId}`);
  }

  /** The whole log of one try of a task, as lines. */
  async taskLog(dagId: string, runId: string, taskId: string, tryNumber: number): Promise<string[]> {
    const path = `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}/logs/${tryNumber}?full_content=true`;
    const response = await this.send("GET", path, undefined, { accept: "application/json" });
    if (!response.ok) throw await this.failure(response, `reading the log of task ${taskId} (try ${tryNumber})`);
    const body = (await response.json()) as { content?: unknown };
    return logLines(body.content);
  }

  private async paged<T>(path: string, key: string, what: string): Promise<T[]> {
    const all: T[] = [];
    const limit = 100;
    for (let offset = 0; ; offset += limit) {
      const sep = path.includes("?") ? "&" : "?";
      const page = (await this.request<Record<string, unknown>>("GET", `${path}${sep}limit=${limit}&offset=${offset}`, what))!;
      const items = (page[key] as T[] | undefined) ?? [];
      all.push(...items);
      const total = Number(page.total_entries ?? all.length);
      if (items.length < limit || all.length >= total) return all;
    }
  }

  private async request<T>(method: string, path: string, what: string, options: { body?: unknown; notFound?: boolean } = {}): Promise<T | undefined> {
    const response = await this.send(method, path, options.body);
    if (response.status === 404 && options.notFound) return undefined;
    if (!response.ok) throw await this.failure(response, what);
    if (response.status === 204) return undefined;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T | undefined;
  }

  private async send(method: string, path: string, body?: unknown, options: { accept?: string; retried?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept ?? "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const auth = await this.authorization();
    if (auth) headers.authorization = auth;
    let response: Response;
    try {
      response = await fetch(`${this.apiBase}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (error) {
      throw new OrchError("E_BACKEND_UNAVAILABLE", {
        message: `Airflow API at ${this.apiBase} is unreachable (${method} ${path.split("?")[0]}): ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}.`,
        hint: "Check the orchestrator's host (the Airflow webserver / API server URL) and that Airflow is running.",
      });
    }
    // An expired bearer token: ask for a new one once.
    if (response.status === 401 && this.config.airflowVersion === 3 && !this.config.token && !options.retried) {
      this.token = undefined;
      return this.send(method, path, body, { ...options, retried: true });
    }
    return response;
  }

  private async authorization(): Promise<string | undefined> {
    const { username, password } = this.config;
    if (this.config.airflowVersion === 2) return username && password !== undefined ? `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` : undefined;
    if (!this.token && username && password !== undefined) this.token = await this.fetchToken(username, password);
    return this.token ? `Bearer ${this.token}` : undefined;
  }

  /** Airflow 3: POST /auth/token on the API server with the user's credentials → `access_token`. */
  private async fetchToken(username: string, password: string): Promise<string> {
    const url = `${this.config.host.replace(/\/+$/, "")}/auth/token`;
    let response: Response;
    try {
      response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ username, password }) });
    } catch (error) {
      throw new OrchError("E_BACKEND_UNAVAILABLE", { message: `Airflow API at ${url} is unreachable: ${(error as Error).message}.`, hint: "Check the orchestrator's host and that the Airflow API server is running." });
    }
    if (!response.ok) throw await this.failure(response, "getting a token from /auth/token");
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token) throw new OrchError("E_BACKEND_UNAVAILABLE", { message: `Airflow's /auth/token answered without an access_token.`, hint: "Set token in the orchestrator config instead." });
    return body.access_token;
  }

  private async failure(response: Response, what: string): Promise<AirflowApiError> {
    const text = await response.text().catch(() => "");
    let detail = text.slice(0, 500) || response.statusText;
    try {
      const problem = JSON.parse(text) as { title?: string; detail?: unknown };
      const parts = [problem.title, typeof problem.detail === "string" ? problem.detail : problem.detail ? JSON.stringify(problem.detail) : undefined].filter(Boolean);
      if (parts.length) detail = parts.join(": ");
    } catch {
      // not problem-json: the raw text
    }
    const hint =
      response.status === 401 || response.status === 403
        ? `Check the orchestrator's ${this.config.airflowVersion === 3 ? "username/password (or token)" : "username/password"} and that the user may use the REST API${this.config.airflowVersion === 2 ? " (auth_backends includes basic_auth)" : ""}.`
        : response.status === 404
          ? "Check host, airflowVersion (2 → /api/v1, 3 → /api/v2) and that the DAG file was placed in the folder Airflow reads."
          : "See the Airflow API server's log.";
    return new AirflowApiError(response.status, what, detail, hint);
  }
}

const enc = encodeURIComponent;

/** A log body's `content`: Airflow 2's text (or [[host, text]] pairs), Airflow 3's structured lines ({ event, … }). */
export function logLines(content: unknown): string[] {
  if (typeof content === "string") return content.split("\n").filter((line) => line !== "");
  if (!Array.isArray(content)) return [];
  return content.flatMap((item) => {
    if (typeof item === "string") return item.split("\n").filter(Boolean);
    if (Array.isArray(item)) return String(item[1] ?? "").split("\n").filter(Boolean);
    if (item && typeof item === "object" && "event" in item) return [String((item as { event: unknown }).event)];
    return [];
  });
}
