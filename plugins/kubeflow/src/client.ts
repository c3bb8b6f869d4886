/**
 * A small typed client of the KFP REST API v2beta1 over fetch (there is no official JavaScript client):
 * the calls this flavor makes, checked against KFP's published swagger (client.test.ts). Failures leave
 * as OrchErrors: the server's `error_message` / `message` in the text, the fix in the hint.
 */
import { OrchError } from "@orch/core/plugin";
import type { Experiment, Filter, NewRecurringRun, NewRun, Pipeline, PipelineVersion, RecurringRun, Run } from "./api-types.js";
import type { KubeflowOrchestratorConfig } from "./config.js";

const API = "/apis/v2beta1";

export interface KfpClientOptions {
  host: string;
  token?: string;
  cookie?: string;
  namespace?: string;
  requestTimeoutSeconds?: number;
  /** For tests: another fetch. */
  fetch?: typeof fetch;
}

/** A failed call: the HTTP status (undefined when the server never answered) and the server's message. */
export class KfpApiError extends Error {
  constructor(
    readonly status: number | undefined,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = "KfpApiError";
  }
}

export class KfpClient {
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: KfpClientOptions) {
    this.base = options.host.replace(/\/+$/, "");
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  static fromConfig(config: KubeflowOrchestratorConfig): KfpClient {
    return new KfpClient({
      host: config.host,
      ...(config.token ? { token: config.token } : {}),
      ...(config.cookie ? { cookie: config.cookie } : {}),
      ...(config.userNamespace ? { namespace: config.userNamespace } : {}),
      requestTimeoutSeconds: config.requestTimeoutSeconds,
    });
  }

  get namespace(): string | undefined {
    return this.options.namespace;
  }

  // Pipelines and versions.
  async getPipelineByName(name: string): Promise<Pipeline | undefined> {
    return this.optional(() => this.call<Pipeline>("GET", `/pipelines/names/${encodeURIComponent(name)}`, { query: { namespace: this.options.namespace } }));
  }

  /** Uploads a pipeline with its first version (the IR as a YAML file, PlatformSpec included). */
  uploadPipeline(file: string, names: { name: string; displayName: string; description?: string }): Promise<Pipeline> {
    return this.call<Pipeline>("POST", "/pipelines/upload", {
      query: { name: names.name, display_name: names.displayName, description: names.description, namespace: this.options.namespace },
      file,
    });
  }

  uploadPipelineVersion(file: string, pipelineId: string, names: { name: string; displayName: string; description?: string }): Promise<PipelineVersion> {
    return this.call<PipelineVersion>("POST", "/pipelines/upload_version", {
      query: { name: names.name, display_name: names.displayName, description: names.description, pipelineid: pipelineId },
      file,
    });
  }

  async findPipelineVersion(pipelineId: string, displayName: string): Promise<PipelineVersion | undefined> {
    const page = await this.call<{ pipeline_versions?: PipelineVersion[] }>("GET", `/pipelines/${encodeURIComponent(pipelineId)}/versions`, {
      query: { filter: filterJson({ predicates: [{ key: "display_name", operation: "EQUALS", string_value: displayName }] }), page_size: "1" },
    });
    return page.pipeline_versions?.[0];
  }

  listPipelineVersions(pipelineId: string): Promise<PipelineVersion[]> {
    return this.all((page_token) => this.call<{ pipeline_versions?: PipelineVersion[]; next_page_token?: string }>("GET", `/pipelines/${encodeURIComponent(pipelineId)}/versions`, { query: { page_token, page_size: "100" } }), (p) => p.pipeline_versions);
  }

  // Experiments.
  async findExperiment(displayName: string): Promise<Experiment | undefined> {
    const page = await this.call<{ experiments?: Experiment[] }>("GET", "/experiments", {
      query: { filter: filterJson({ predicates: [{ key: "display_name", operation: "EQUALS", string_value: displayName }] }), namespace: this.options.namespace, page_size: "1" },
    });
    return page.experiments?.[0];
  }

  createExperiment(displayName: string): Promise<Experiment> {
    return this.call<Experiment>("POST", "/experiments", { body: { display_name: displayName, ...(this.options.namespace ? { namespace: this.options.namespace } : {}) } });
  }

  // Runs.
  createRun(run: NewRun): Promise<Run> {
    return this.call<Run>("POST", "/runs", { body: run });
  }

  getRun(runId: string): Promise<Run> {
    return this.call<Run>("GET", `/runs/${encodeURIComponent(runId)}`);
  }

  async findRunByName(displayName: string): Promise<Run | undefined> {
    const page = await this.call<{ runs?: Run[] }>("GET", "/runs", {
      query: { filter: filterJson({ predicates: [{ key: "display_name", operation: "EQUALS", string_value: displayName }] }), namespace: this.options.namespace, page_size: "1" },
    });
    return page.runs?.[0];
  }

  async terminateRun(runId: string): Promise<void> {
    await this.call("POST", `/runs/${encodeURIComponent(runId)}:terminate`);
  }

  // Recurring runs.
  createRecurringRun(recurring: NewRecurringRun): Promise<RecurringRun> {
    return this.call<RecurringRun>("POST", "/recurringruns", { body: recurring });
  }

  async getRecurringRun(id: string): Promise<RecurringRun | undefined> {
    return this.optional(() => this.call<RecurringRun>("GET", `/recurringruns/${encodeURIComponent(id)}`));
  }

  listRecurringRuns(): Promise<RecurringRun[]> {
    return this.all(
      (page_token) => this.call<{ recurringRuns?: RecurringRun[]; next_page_token?: string }>("GET", "/recurringruns", { query: { page_token, page_size: "100", namespace: this.options.namespace } }),
      (page) => page.recurringRuns,
    );
  }

  async deleteRecurringRun(id: string): Promise<void> {
    await this.call("DELETE", `/recurringruns/${encodeURIComponent(id)}`);
  }

  /** Every item of a paged list (follows next_page_token). */
  private async all<P extends { next_page_token?: string }, T>(fetchPage: (token: string | undefined) => Promise<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await fetchPage(token);
      out.push(...(items(page) ?? []));
      token = page.next_page_token || undefined;
      if (!token) break;
    }
    return out;
  }

  private async optional<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof KfpApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** One request; non-2xx answers and transport failures throw KfpApiError. */
  async call<T = unknown>(method: string, path: string, options: { query?: Record<string, string | undefined>; body?: unknown; file?: string } = {}): Promise<T> {
    const url = new URL(`${this.base}${API}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== "") url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.cookie) headers.cookie = this.options.cookie;
    let body: FormData | string | undefined;
    if (options.file !== undefined) {
      const form = new FormData();
      form.append("uploadfile", new Blob([options.file], { type: "application/x-yaml" }), "pipeline.yaml");
      body = form;
    } else if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout((this.options.requestTimeoutSeconds ?? 30) * 1000) });
    } catch (cause) {
      const reason = (cause as Error)?.name === "TimeoutError" ? "timed out" : ((cause as { cause?: Error })?.cause?.message ?? (cause as Error).message);
      throw new KfpApiError(undefined, `${method} ${url.pathname}: ${reason}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const record = (parsed ?? {}) as { error_message?: string; message?: string; error?: string };
      const message = record.error_message ?? record.message ?? record.error ?? (typeof parsed === "string" ? parsed.slice(0, 300) : response.statusText);
      throw new KfpApiError(response.status, `${method} ${url.pathname}: HTTP ${response.status}: ${message}`, parsed);
    }
    return parsed as T;
  }
}

export function filterJson(filter: Filter): string {
  return JSON.stringify(filter);
}

/** A KFP API failure as an OrchError: unreachable or overloaded → E_BACKEND_UNAVAILABLE, refused → E_CONFIG_INVALID. */
export function kfpError(action: string, error: unknown, config: Pick<KubeflowOrchestratorConfig, "host" | "userNamespace">): OrchError {
  if (error instanceof OrchError) return error;
  const status = error instanceof KfpApiError ? error.status : undefined;
  const message = `kubeflow: ${action} failed: ${(error as Error)?.message ?? String(error)}`;
  if (status === undefined || status === 429 || status >= 500) {
    return new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: "kubeflow",
      message,
      hint: `Check that the KFP API at ${config.host} is reachable from here (host; e.g. kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888), then try again.`,
      cause: error,
    });
  }
  const hint =
    status === 401 || status === 403
      ? `The KFP API refused the credentials: set token (bearer) or cookie (Dex session)${config.userNamespace ? `, with access to namespace ${config.userNamespace}` : ""}.`
      : status === 404
        ? `Check host (${config.host}: the KFP API, whose paths start with /apis/v2beta1) and userNamespace.`
        : "The KFP API refused the request; see its message above.";
  return new OrchError("E_CONFIG_INVALID", { flavor: "kubeflow", message, hint, cause: error });
}
