/**
 * A loopback KFP API server (REST v2beta1, 127.0.0.1) for tests: pipelines and versions uploaded as YAML
 * (validated against KFP's protos when the conformance folder is there, as KFP validates on upload),
 * experiments, runs with real state transitions (PENDING → RUNNING → SUCCEEDED / FAILED, and CANCELING →
 * CANCELED on terminate), recurring runs, filters, page tokens, and KFP's error bodies
 * (`{ error_message, error_details, code, message, details }`). A created run EXECUTES the uploaded IR —
 * not any snapshot — with @orch/kfp's test executor: each task's container command from the IR, in
 * dependency order, with the IR's env (child processes, or Docker containers).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createKfpValidator, findKfpConformance, parseIrText, runPipelineSpec, type IrExecutorOptions, type KfpIr } from "@orch/kfp/testing";
import type { Experiment, Pipeline, PipelineTaskDetail, PipelineVersion, RecurringRun, Run, RuntimeState } from "../src/api-types.js";

export interface KfpServerOptions {
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** How tasks run: passed to the IR executor (mode, docker, baseEnv, cwd, secrets). */
  executor?: Omit<IrExecutorOptions, "pipelineSpec" | "platformSpec" | "parameters" | "runName" | "runUuid" | "signal" | "onTask" | "onLog">;
  /** Seconds a new run stays PENDING before it starts (default 0). */
  pendingSeconds?: number;
}

export interface KfpServer {
  url: string;
  runs: Map<string, Run>;
  pipelines: Map<string, Pipeline>;
  versions: Map<string, PipelineVersion & { ir: KfpIr; yaml: string }>;
  recurringRuns: Map<string, RecurringRun>;
  experiments: Map<string, Experiment>;
  /** Every request, `METHOD path`. */
  requests: string[];
  /** Output of each task attempt by pod name (also served at /api/v1/namespaces/NS/pods/NAME/log, container main). */
  podLogs: Map<string, string>;
  /** A kubeconfig (context `loopback`) whose cluster is this server, for pod logs. */
  kubeconfig(): string;
  /** Starts a run of a recurring run, as KFP's scheduled-workflow controller does on its trigger. */
  trigger(recurringRunId: string): Promise<Run>;
  /** Resolves when the run reached a final state. */
  settled(runId: string): Promise<Run>;
  close(): Promise<void>;
}

const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, UNAUTHENTICATED: 16, INTERNAL: 13 } as const;
const HTTP: Record<number, number> = { 3: 400, 5: 404, 6: 409, 16: 401, 13: 500 };

class ApiError extends Error {
  constructor(
    readonly grpc: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startKfpServer(options: KfpServerOptions = {}): Promise<KfpServer> {
  const conformance = findKfpConformance();
  const validator = conformance ? createKfpValidator(conformance) : undefined;
  const pipelines = new Map<string, Pipeline>();
  const versions = new Map<string, PipelineVersion & { ir: KfpIr; yaml: string }>();
  const experiments = new Map<string, Experiment>();
  const runs = new Map<string, Run>();
  const recurringRuns = new Map<string, RecurringRun>();
  const controllers = new Map<string, AbortController>();
  const finished = new Map<string, Promise<Run>>();
  const podLogs = new Map<string, string>();
  const requests: string[] = [];
  const now = () => new Date().toISOString();

  const setState = (run: Run, state: RuntimeState, error?: string) => {
    run.state = state;
    run.state_history = [...(run.state_history ?? []), { update_time: now(), state }];
    if (error) run.error = { code: GRPC.INTERNAL, message: error };
    if (["SUCCEEDED", "FAILED", "CANCELED"].includes(state)) run.finished_at = now();
  };

  function startRun(body: Partial<Run>): Run {
    const ref = body.pipeline_version_reference;
    const version = ref ? versions.get(ref.pipeline_version_id) : undefined;
    if (!ref || !version || version.pipeline_id !== ref.pipeline_id) throw new ApiError(GRPC.NOT_FOUND, `Failed to create a run: pipeline version ${ref?.pipeline_version_id ?? "(none)"} of pipeline ${ref?.pipeline_id ?? "(none)"} not found`);
    if (body.experiment_id && !experiments.has(body.experiment_id)) throw new ApiError(GRPC.NOT_FOUND, `Failed to create a run: experiment ${body.experiment_id} not found`);
    if (!body.display_name) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to create a run: display_name is empty");
    // KFP refuses runtime parameters the pipeline does not declare.
    const declared = (version.ir.pipelineSpec as any)?.root?.inputDefinitions?.parameters ?? {};
    for (const name of Object.keys(body.runtime_config?.parameters ?? {})) {
      if (!(name in declared)) throw new ApiError(GRPC.INVALID_ARGUMENT, `Failed to create a run: parameter ${name} is not an input of the pipeline`);
    }
    for (const [name, def] of Object.entries<any>(declared)) {
      if (!def.isOptional && def.defaultValue === undefined && body.runtime_config?.parameters?.[name] === undefined) throw new ApiError(GRPC.INVALID_ARGUMENT, `Failed to create a run: required parameter ${name} has no value`);
    }
    const run: Run = {
      ...body,
      run_id: randomUUID(),
      display_name: body.display_name,
      experiment_id: body.experiment_id ?? defaultExperiment().experiment_id,
      created_at: now(),
      scheduled_at: now(),
      state: "PENDING",
      state_history: [{ update_time: now(), state: "PENDING" }],
      run_details: { task_details: [] },
    };
    runs.set(run.run_id, run);
    const controller = new AbortController();
    controllers.set(run.run_id, controller);
    finished.set(run.run_id, execute(run, version, controller));
    return run;
  }

  async function execute(run: Run, version: { ir: KfpIr }, controller: AbortController): Promise<Run> {
    await new Promise((r) => setTimeout(r, (options.pendingSeconds ?? 0) * 1000));
    if (controller.signal.aborted) {
      setState(run, "CANCELED");
      return run;
    }
    setState(run, "RUNNING");
    const details = new Map<string, PipelineTaskDetail>();
    try {
      const result = await runPipelineSpec({
        ...options.executor,
        ...version.ir,
        parameters: run.runtime_config?.parameters ?? {},
        runName: run.run_id.slice(0, 8),
        runUuid: run.run_id,
        signal: controller.signal,
        onLog: (task, attempt, chunk) => {
          const pod = details.get(task)?.pod_name;
          if (pod) podLogs.set(pod, (podLogs.get(pod) ?? "") + chunk);
        },
        onTask: (event) => {
          const detail: PipelineTaskDetail = details.get(event.task) ?? { run_id: run.run_id, task_id: randomUUID(), display_name: event.displayName, create_time: now() };
          detail.state = event.state;
          if (event.state === "RUNNING") {
            detail.start_time = now();
            detail.pod_name = event.podName;
            detail.child_tasks = [...(detail.child_tasks ?? []), { pod_name: event.podName }];
          }
          if (["SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"].includes(event.state)) detail.end_time = now();
          if (event.state === "FAILED") detail.error = { code: GRPC.INTERNAL, message: event.error ?? `container exited with code ${event.exitCode}` };
          details.set(event.task, detail);
          run.run_details = { task_details: [...details.values()] };
        },
      });
      setState(run, result.state, result.state === "FAILED" ? "a task failed" : undefined);
    } catch (error) {
      setState(run, "FAILED", (error as Error).message);
    }
    return run;
  }

  function defaultExperiment(): Experiment {
    for (const e of experiments.values()) if (e.display_name === "Default") return e;
    const e: Experiment = { experiment_id: randomUUID(), display_name: "Default", created_at: now(), storage_state: "AVAILABLE" };
    experiments.set(e.experiment_id, e);
    return e;
  }

  function upload(req: IncomingMessage, raw: Buffer): { ir: KfpIr; yaml: string } {
    const type = req.headers["content-type"] ?? "";
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
    if (!type.startsWith("multipart/form-data") || !boundary) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to upload a pipeline: expected multipart/form-data with a file in uploadfile");
    const marker = `--${boundary[1] ?? boundary[2]}`;
    const parts = raw.toString("utf8").split(marker).slice(1, -1);
    const file = parts.find((p) => /name="uploadfile"/.test(p.slice(0, p.indexOf("\r\n\r\n"))));
    if (!file) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to upload a pipeline: no file in form field uploadfile");
    const yaml = file.slice(file.indexOf("\r\n\r\n") + 4).replace(/\r\n$/, "");
    let ir: KfpIr;
    try {
      ir = parseIrText(yaml);
    } catch (error) {
      throw new ApiError(GRPC.INVALID_ARGUMENT, `Failed to upload a pipeline: invalid pipeline spec: ${(error as Error).message}`);
    }
    const problems = validator?.validate(ir) ?? [];
    if (problems.length) throw new ApiError(GRPC.INVALID_ARGUMENT, `Failed to upload a pipeline: invalid pipeline spec: ${problems.slice(0, 5).join("; ")}`);
    return { ir, yaml };
  }

  function addVersion(pipelineId: string, name: string, displayName: string, file: { ir: KfpIr; yaml: string }, description?: string): PipelineVersion {
    for (const v of versions.values()) if (v.pipeline_id === pipelineId && v.name === name) throw new ApiError(GRPC.ALREADY_EXISTS, `Failed to create a pipeline version: a version named ${name} already exists`);
    const version = { pipeline_id: pipelineId, pipeline_version_id: randomUUID(), name, display_name: displayName, created_at: now(), pipeline_spec: file.ir.pipelineSpec, ...(description ? { description } : {}), ...file };
    versions.set(version.pipeline_version_id, version);
    return version;
  }

  const publicVersion = (v: PipelineVersion & { ir?: unknown; yaml?: unknown }): PipelineVersion => {
    const { ir: _ir, yaml: _yaml, ...rest } = v;
    return rest;
  };

  async function route(req: IncomingMessage, url: URL, raw: Buffer): Promise<unknown> {
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/^\/apis\/v2beta1/, "");
    const q = (name: string) => url.searchParams.get(name) ?? undefined;
    const json = () => {
      try {
        return raw.length ? JSON.parse(raw.toString("utf8")) : {};
      } catch {
        throw new ApiError(GRPC.INVALID_ARGUMENT, "invalid JSON body");
      }
    };
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/healthz") return { commit_sha: "loopback", tag_name: "2.5.0", multi_user: false };

    // Pipelines.
    if (method === "POST" && path === "/pipelines/upload") {
      const name = q("name") ?? q("display_name");
      if (!name) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to upload a pipeline: name is empty");
      for (const p of pipelines.values()) if (p.name === name && p.namespace === q("namespace")) throw new ApiError(GRPC.ALREADY_EXISTS, `Failed to upload a pipeline: a pipeline named ${name} already exists`);
      const file = upload(req, raw);
      const pipeline: Pipeline = { pipeline_id: randomUUID(), name, display_name: q("display_name") ?? name, created_at: now(), ...(q("description") ? { description: q("description")! } : {}), ...(q("namespace") ? { namespace: q("namespace")! } : {}) };
      pipelines.set(pipeline.pipeline_id, pipeline);
      addVersion(pipeline.pipeline_id, name, pipeline.display_name!, file);
      return pipeline;
    }
    if (method === "POST" && path === "/pipelines/upload_version") {
      const pipelineId = q("pipelineid");
      if (!pipelineId || !pipelines.has(pipelineId)) throw new ApiError(GRPC.NOT_FOUND, `Failed to upload a pipeline version: pipeline ${pipelineId ?? "(none)"} not found`);
      const name = q("name") ?? q("display_name");
      if (!name) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to upload a pipeline version: name is empty");
      return publicVersion(addVersion(pipelineId, name, q("display_name") ?? name, upload(req, raw), q("description")));
    }
    if (method === "GET" && (m = /^\/pipelines\/names\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]!);
      for (const p of pipelines.values()) if (p.name === name && p.namespace === q("namespace")) return p;
      throw new ApiError(GRPC.NOT_FOUND, `Failed to get a pipeline by name: pipeline ${name} not found`);
    }
    if (method === "GET" && path === "/pipelines") return page([...pipelines.values()], url, "pipelines");
    if (method === "GET" && (m = /^\/pipelines\/([^/]+)\/versions$/.exec(path))) {
      const id = decodeURIComponent(m[1]!);
      if (!pipelines.has(id)) throw new ApiError(GRPC.NOT_FOUND, `Failed to list pipeline versions: pipeline ${id} not found`);
      return page([...versions.values()].filter((v) => v.pipeline_id === id).map(publicVersion), url, "pipeline_versions");
    }
    if (method === "GET" && (m = /^\/pipelines\/([^/]+)\/versions\/([^/]+)$/.exec(path))) {
      const v = versions.get(decodeURIComponent(m[2]!));
      if (!v || v.pipeline_id !== decodeURIComponent(m[1]!)) throw new ApiError(GRPC.NOT_FOUND, `Failed to get a pipeline version: version ${m[2]} not found`);
      return publicVersion(v);
    }
    if (method === "GET" && (m = /^\/pipelines\/([^/]+)$/.exec(path))) {
      const p = pipelines.get(decodeURIComponent(m[1]!));
      if (!p) throw new ApiError(GRPC.NOT_FOUND, `Failed to get a pipeline: pipeline ${m[1]} not found`);
      return p;
    }

    // Experiments.
    if (method === "GET" && path === "/experiments") return page([...experiments.values()].filter((e) => (q("namespace") ?? undefined) === e.namespace), url, "experiments");
    if (method === "POST" && path === "/experiments") {
      const body = json();
      if (!body.display_name) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to create an experiment: display_name is empty");
      for (const e of experiments.values()) if (e.display_name === body.display_name && e.namespace === body.namespace) throw new ApiError(GRPC.ALREADY_EXISTS, `Failed to create an experiment: experiment ${body.display_name} already exists`);
      const e: Experiment = { experiment_id: randomUUID(), display_name: body.display_name, created_at: now(), storage_state: "AVAILABLE", ...(body.namespace ? { namespace: body.namespace } : {}) };
      experiments.set(e.experiment_id, e);
      return e;
    }

    // Runs.
    if (method === "POST" && path === "/runs") return startRun(json());
    if (method === "GET" && path === "/runs") return page([...runs.values()].filter((r) => !q("experiment_id") || r.experiment_id === q("experiment_id")), url, "runs");
    if ((m = /^\/runs\/([^/:]+)(?::(terminate))?$/.exec(path))) {
      const run = runs.get(decodeURIComponent(m[1]!));
      if (!run) throw new ApiError(GRPC.NOT_FOUND, `Failed to get a run: run ${m[1]} not found`);
      if (method === "GET" && !m[2]) return run;
      if (method === "POST" && m[2] === "terminate") {
        if (run.state === "PENDING" || run.state === "RUNNING") {
          setState(run, "CANCELING");
          controllers.get(run.run_id)?.abort();
        }
        return {};
      }
    }

    // Recurring runs.
    if (method === "POST" && path === "/recurringruns") {
      const body = json();
      const trigger = body.trigger ?? {};
      if (!!trigger.cron_schedule === !!trigger.periodic_schedule) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to create a recurring run: exactly one of cron_schedule and periodic_schedule is required");
      // KFP's controller parses cron with seconds first (robfig/cron): six fields.
      if (trigger.cron_schedule && trigger.cron_schedule.cron.trim().split(/\s+/).length !== 6) throw new ApiError(GRPC.INVALID_ARGUMENT, `Failed to create a recurring run: invalid cron ${JSON.stringify(trigger.cron_schedule.cron)}: expected 6 fields (seconds first)`);
      if (trigger.periodic_schedule && !/^\d+$/.test(String(trigger.periodic_schedule.interval_second))) throw new ApiError(GRPC.INVALID_ARGUMENT, "Failed to create a recurring run: interval_second must be an int64 string");
      const ref = body.pipeline_version_reference;
      if (!ref || !versions.has(ref.pipeline_version_id)) throw new ApiError(GRPC.NOT_FOUND, "Failed to create a recurring run: pipeline version not found");
      const recurring: RecurringRun = { ...body, recurring_run_id: randomUUID(), created_at: now(), status: body.mode === "DISABLE" ? "DISABLED" : "ENABLED", max_concurrency: body.max_concurrency ?? "10" };
      recurringRuns.set(recurring.recurring_run_id, recurring);
      return recurring;
    }
    if (method === "GET" && path === "/recurringruns") return page([...recurringRuns.values()], url, "recurringRuns");
    if ((m = /^\/recurringruns\/([^/:]+)$/.exec(path))) {
      const id = decodeURIComponent(m[1]!);
      const recurring = recurringRuns.get(id);
      if (!recurring) throw new ApiError(GRPC.NOT_FOUND, `Failed to get a recurring run: recurring run ${id} not found`);
      if (method === "GET") return recurring;
      if (method === "DELETE") {
        recurringRuns.delete(id);
        return {};
      }
    }
    throw new ApiError(GRPC.NOT_FOUND, `Not Found: ${method} ${url.pathname}`);
  }

  /** A list answer with KFP's filter (EQUALS/NOT_EQUALS/IS_SUBSTRING on string fields), page_size and page_token. */
  function page<T extends object>(items: T[], url: URL, key: string): Record<string, unknown> {
    let filtered = items;
    const filter = url.searchParams.get("filter");
    if (filter) {
      let parsed: { predicates?: { key: string; operation: string; string_value?: string }[] };
      try {
        parsed = JSON.parse(filter);
      } catch {
        throw new ApiError(GRPC.INVALID_ARGUMENT, `Invalid filter: ${filter}`);
      }
      for (const p of parsed.predicates ?? []) {
        const field = (x: T) => String((x as Record<string, unknown>)[p.key] ?? "");
        if (p.operation === "EQUALS") filtered = filtered.filter((x) => field(x) === p.string_value);
        else if (p.operation === "NOT_EQUALS") filtered = filtered.filter((x) => field(x) !== p.string_value);
        else if (p.operation === "IS_SUBSTRING") filtered = filtered.filter((x) => field(x).includes(p.string_value ?? ""));
        else throw new ApiError(GRPC.INVALID_ARGUMENT, `Invalid filter operation ${p.operation}`);
      }
    }
    const size = Math.max(1, Math.min(200, Number(url.searchParams.get("page_size") ?? 20) || 20));
    const token = url.searchParams.get("page_token");
    const offset = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw new ApiError(GRPC.INVALID_ARGUMENT, `Invalid page token ${token}`);
    const slice = filtered.slice(offset, offset + size);
    const next = offset + size < filtered.length ? Buffer.from(String(offset + size)).toString("base64url") : undefined;
    return { [key]: slice, total_size: filtered.length, ...(next ? { next_page_token: next } : {}) };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void handle(req, res, Buffer.concat(chunks)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      if (options.token && req.headers.authorization !== `Bearer ${options.token}`) throw new ApiError(GRPC.UNAUTHENTICATED, "Unauthenticated: the request has no valid bearer token");
      // The cluster's API server, for pod logs (same port: one loopback server plays KFP and Kubernetes).
      const podLog = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
      if (podLog && req.method === "GET") {
        const text = podLogs.get(decodeURIComponent(podLog[2]!));
        if (text === undefined || url.searchParams.get("container") !== "main") {
          res.writeHead(404, { "content-type": "application/json" });
          return void res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: `pods "${podLog[2]}" not found` }));
        }
        res.writeHead(200, { "content-type": "text/plain" });
        return void res.end(text);
      }
      if (!url.pathname.startsWith("/apis/v2beta1/")) throw new ApiError(GRPC.NOT_FOUND, `Not Found: ${url.pathname}`);
      send(200, await route(req, url, raw));
    } catch (error) {
      const grpc = error instanceof ApiError ? error.grpc : GRPC.INTERNAL;
      const message = (error as Error).message;
      send(HTTP[grpc] ?? 500, { error_message: message, error_details: message, code: grpc, message, details: [] });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    runs,
    pipelines,
    versions,
    recurringRuns,
    experiments,
    requests,
    podLogs,
    kubeconfig: () =>
      [
        "apiVersion: v1",
        "kind: Config",
        // Plain HTTP on 127.0.0.1: the client refuses it unless TLS verification is off.
        "clusters: [{ name: loopback, cluster: { server: 'http://127.0.0.1:" + port + "', insecure-skip-tls-verify: true } }]",
        "users: [{ name: loopback, user: { token: loopback } }]",
        "contexts: [{ name: loopback, context: { cluster: loopback, user: loopback, namespace: kubeflow } }]",
        "current-context: loopback",
        "",
      ].join("\n"),
    async trigger(id) {
      const recurring = recurringRuns.get(id);
      if (!recurring) throw new Error(`no recurring run ${id}`);
      return startRun({
        display_name: `${recurring.display_name}-${Date.now()}`,
        pipeline_version_reference: recurring.pipeline_version_reference!,
        runtime_config: recurring.runtime_config ?? {},
        ...(recurring.experiment_id ? { experiment_id: recurring.experiment_id } : {}),
        recurring_run_id: id,
      });
    },
    settled(runId) {
      const done = finished.get(runId);
      if (!done) throw new Error(`no run ${runId}`);
      return done;
    },
    async close() {
      for (const c of controllers.values()) c.abort();
      await Promise.allSettled(finished.values());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
