/**
 * A small typed client for the Databricks REST APIs orch uses (Jobs 2.2, Workspace 2.0, Secrets 2.0),
 * on Node's fetch. Auth like the Databricks CLI: OAuth M2M (client id + secret → a token from
 * `{host}/oidc/v1/token`, cached until shortly before it expires) or a personal access token; the host
 * and credentials from the config, else DATABRICKS_HOST / DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET
 * / DATABRICKS_TOKEN. 429 and 503 answers are retried after their Retry-After; errors carry Databricks'
 * `error_code` and `message`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { OrchError } from "@orch/core/plugin";
import type { DatabricksOrchestratorConfig } from "./config.js";
import type { BaseJob, JobSettings, Run, RunOutput } from "./api-types.js";

/** A refused request: the HTTP status and Databricks' `error_code` (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE …). */
export class DatabricksApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly operation: string,
  ) {
    super(`${operation}: ${status} ${errorCode}: ${message}`);
    this.name = "DatabricksApiError";
  }
}

export const isNotFound = (error: unknown) => error instanceof DatabricksApiError && (error.status === 404 || error.errorCode === "RESOURCE_DOES_NOT_EXIST");

export interface DatabricksCredentials {
  host: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
}

/** The host and credentials from the config, else the environment (as the Databricks CLI reads them). */
export function resolveCredentials(config: Pick<DatabricksOrchestratorConfig, "host" | "token" | "clientId" | "clientSecret">, env: NodeJS.ProcessEnv = process.env): DatabricksCredentials {
  const host = (config.host ?? env.DATABRICKS_HOST)?.replace(/\/+$/, "");
  if (!host) {
    throw new OrchError("E_CONFIG_INVALID", { flavor: "databricks", key: "host", message: "The databricks orchestrator has no workspace host.", hint: "Set host (orch orchestrator update NAME --host=https://…) or $DATABRICKS_HOST." });
  }
  const clientId = config.clientId ?? env.DATABRICKS_CLIENT_ID;
  const clientSecret = config.clientSecret ?? env.DATABRICKS_CLIENT_SECRET;
  const token = config.token ?? env.DATABRICKS_TOKEN;
  if (clientId && !clientSecret) {
    throw new OrchError("E_CONFIG_INVALID", { flavor: "databricks", key: "client_secret", message: `The databricks orchestrator has client_id ${clientId} but no client_secret.`, hint: "Set client_secret (or $DATABRICKS_CLIENT_SECRET) for OAuth M2M, or remove client_id and use a token." });
  }
  if (!clientId && !token) {
    throw new OrchError("E_CONFIG_INVALID", { flavor: "databricks", key: "client_id", message: "The databricks orchestrator has no credentials.", hint: "Set client_id and client_secret (OAuth M2M, a service principal), or token / $DATABRICKS_TOKEN." });
  }
  return { host, ...(clientId ? { clientId, clientSecret: clientSecret! } : { token: token! }) };
}

const RETRIED_STATUSES = new Set([429, 503]);
const MAX_RETRIES = 6;

export class DatabricksClient {
  private accessToken?: { value: string; expiresAt: number };

  constructor(
    readonly credentials: DatabricksCredentials,
    private readonly options: { maxRetryWaitMs?: number } = {},
  ) {}

  get host(): string {
    return this.credentials.host;
  }

  /** The bearer token: the PAT, or an OAuth M2M token fetched once and reused until a minute before it expires. */
  private async bearer(): Promise<string> {
    const { clientId, clientSecret, token } = this.credentials;
    if (!clientId) return token!;
    if (this.accessToken && Date.now() < this.accessToken.expiresAt) return this.accessToken.value;
    const response = await this.fetchRetrying(`${this.host}/oidc/v1/token`, "getting an OAuth token", () => ({
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "all-apis" }).toString(),
    }));
    const body = (await response.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new DatabricksApiError(response.status, "INVALID_RESPONSE", "the token endpoint returned no access_token", "getting an OAuth token");
    this.accessToken = { value: body.access_token, expiresAt: Date.now() + Math.max(0, (body.expires_in ?? 3600) - 60) * 1000 };
    return body.access_token;
  }

  /** fetch with Retry-After on 429/503 and an error for any other non-2xx answer. */
  private async fetchRetrying(url: string, operation: string, init: () => Promise<RequestInit> | RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const request = await init();
      let response: Response;
      try {
        response = await fetch(url, request);
      } catch (cause) {
        throw new OrchError("E_BACKEND_UNAVAILABLE", {
          flavor: "databricks",
          message: `Databricks at ${this.host} cannot be reached (${operation}): ${(cause as Error).message}.`,
          hint: "Check host and the network; then try again.",
          cause,
        });
      }
      if (response.ok) return response;
      if (RETRIED_STATUSES.has(response.status) && attempt < MAX_RETRIES) {
        await response.body?.cancel();
        const after = Number(response.headers.get("retry-after"));
        const waitMs = Number.isFinite(after) && after > 0 ? after * 1000 : 500 * 2 ** attempt;
        await sleep(Math.min(waitMs, this.options.maxRetryWaitMs ?? 60_000));
        continue;
      }
      const text = await response.text();
      let errorCode = `HTTP_${response.status}`;
      let message = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { error_code?: string; message?: string; error_description?: string; error?: string };
        errorCode = parsed.error_code ?? parsed.error ?? errorCode;
        message = parsed.message ?? parsed.error_description ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new DatabricksApiError(response.status, errorCode, message, operation);
    }
  }

  async request<T>(method: "GET" | "POST", path: string, operation: string, payload?: Record<string, unknown>): Promise<T> {
    let url = `${this.host}${path}`;
    if (method === "GET" && payload) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(payload)) if (value !== undefined) query.set(key, String(value));
      url += `?${query}`;
    }
    const response = await this.fetchRetrying(url, operation, async () => ({
      method,
      headers: { authorization: `Bearer ${await this.bearer()}`, "content-type": "application/json", "user-agent": "orch-plugin-databricks/0.1" },
      ...(method === "POST" ? { body: JSON.stringify(payload ?? {}) } : {}),
    }));
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  // Jobs API 2.2
  createJob = (settings: JobSettings) => this.request<{ job_id: number }>("POST", "/api/2.2/jobs/create", `creating job ${settings.name}`, { ...settings });
  resetJob = (jobId: number, settings: JobSettings) => this.request<object>("POST", "/api/2.2/jobs/reset", `resetting job ${jobId}`, { job_id: jobId, new_settings: settings });
  getJob = (jobId: number) => this.request<BaseJob>("GET", "/api/2.2/jobs/get", `reading job ${jobId}`, { job_id: jobId });
  deleteJob = (jobId: number) => this.request<object>("POST", "/api/2.2/jobs/delete", `deleting job ${jobId}`, { job_id: jobId });

  /** Every job (or those named `name`), following next_page_token. */
  async listJobs(name?: string): Promise<BaseJob[]> {
    const jobs: BaseJob[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.request<{ jobs?: BaseJob[]; has_more?: boolean; next_page_token?: string }>("GET", "/api/2.2/jobs/list", "listing jobs", {
        limit: 100,
        expand_tasks: false,
        ...(name ? { name } : {}),
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      jobs.push(...(page.jobs ?? []));
      pageToken = page.has_more ? page.next_page_token : undefined;
    } while (pageToken);
    return jobs;
  }

  runNow = (jobId: number, jobParameters: Record<string, string>, idempotencyToken: string) =>
    this.request<{ run_id: number; number_in_job?: number }>("POST", "/api/2.2/jobs/run-now", `starting job ${jobId}`, { job_id: jobId, job_parameters: jobParameters, idempotency_token: idempotencyToken });

  /** A job run with all its task runs (runs/get pages the tasks of large runs). */
  async getRun(runId: number): Promise<Run> {
    let run: Run | undefined;
    let pageToken: string | undefined;
    do {
      const page = await this.request<Run>("GET", "/api/2.2/jobs/runs/get", `reading run ${runId}`, { run_id: runId, ...(pageToken ? { page_token: pageToken } : {}) });
      if (run) run.tasks = [...(run.tasks ?? []), ...(page.tasks ?? [])];
      else run = page;
      pageToken = page.has_more ? page.next_page_token : undefined;
    } while (pageToken);
    return run!;
  }

  /** Re-runs `rerunTasks` of an ended run (and what depends on them), in the same run: Databricks' "repair run". */
  repairRun = (runId: number, rerunTasks: string[]) => this.request<{ repair_id: number }>("POST", "/api/2.2/jobs/runs/repair", `repairing run ${runId}`, { run_id: runId, rerun_tasks: rerunTasks });
  cancelRun = (runId: number) => this.request<object>("POST", "/api/2.2/jobs/runs/cancel", `cancelling run ${runId}`, { run_id: runId });
  getRunOutput = (taskRunId: number) => this.request<RunOutput>("GET", "/api/2.2/jobs/runs/get-output", `reading the output of task run ${taskRunId}`, { run_id: taskRunId });

  // Workspace API 2.0: where the launcher lives.
  mkdirs = (path: string) => this.request<object>("POST", "/api/2.0/workspace/mkdirs", `creating workspace folder ${path}`, { path });
  importFile = (path: string, content: string) =>
    this.request<object>("POST", "/api/2.0/workspace/import", `uploading ${path}`, { path, format: "AUTO", content: Buffer.from(content).toString("base64"), overwrite: true });

  // Secrets API 2.0: the artifact store's credentials.
  async ensureScope(scope: string): Promise<void> {
    try {
      await this.request<object>("POST", "/api/2.0/secrets/scopes/create", `creating secret scope ${scope}`, { scope });
    } catch (error) {
      if (error instanceof DatabricksApiError && error.errorCode === "RESOURCE_ALREADY_EXISTS") return;
      throw error;
    }
  }
  putSecret = (scope: string, key: string, value: string) => this.request<object>("POST", "/api/2.0/secrets/put", `storing secret ${scope}/${key}`, { scope, key, string_value: value });
}

/** An API failure as the OrchError the user sees: credentials and bad requests are config errors, the rest "try again". */
export function toOrchError(error: unknown, what: string): Error {
  if (!(error instanceof DatabricksApiError)) return error as Error;
  if (error.status === 401 || error.status === 403) {
    return new OrchError("E_CONFIG_INVALID", { flavor: "databricks", key: "client_id", message: `Databricks refused ${what}: ${error.errorCode}: ${error.message}`, hint: "Check client_id / client_secret (or token) and the principal's permissions on jobs, the workspace folder and the secret scope.", cause: error });
  }
  if (error.status >= 500 || error.status === 429) {
    return new OrchError("E_BACKEND_UNAVAILABLE", { flavor: "databricks", message: `Databricks could not serve ${what}: ${error.message}`, hint: "Try again later.", cause: error });
  }
  return new OrchError("E_CONFIG_INVALID", { flavor: "databricks", message: `Databricks refused ${what}: ${error.message}`, hint: "Fix the setting the message names (orch pipeline compile shows the job settings orch sends).", cause: error });
}
