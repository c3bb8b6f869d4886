/**
 * A loopback server speaking the part of the Vertex AI REST API v1 that `@google-cloud/aiplatform`'s
 * REST transport (`fallback: true`) sends for pipelines and schedules — and executing what it is given:
 * a created PipelineJob's `pipelineSpec` (the IR exactly as the SDK sent it, not orch's snapshot) runs
 * task by task through @orch/kfp/testing's IR executor (each task's container command as a local
 * process, or in Docker), while `jobDetail.taskDetails` follows the tasks live.
 *
 * Covered: pipelineJobs create (`pipelineJobId`, 409 on a taken id, 400 on an empty or malformed
 * `pipelineSpec`), get, list (`filter` on labels / display_name / state, `pageSize` ≤ 100,
 * `pageToken`), cancel (400 FAILED_PRECONDITION once finished); states PENDING → RUNNING → SUCCEEDED /
 * FAILED, CANCELLING → CANCELLED; schedules create (cron with TZ= prefix, maxConcurrentRunCount > 0,
 * createPipelineJobRequest), get, list (paged), delete as a long-running operation polled through
 * `operations/*`; `trigger()` starts a schedule's run the way Vertex does at the cron time, honouring
 * maxConcurrentRunCount. Enums are numbers when the client asks for `enum-encoding=int` (the SDK
 * does), int64 fields strings. Errors are Google's `{ error: { code, message, status } }`.
 * Auth: every request needs `Authorization: Bearer <JWT>` signed RS256 by the test service account's
 * key (the self-signed JWT google-auth-library makes from a service-account key), else 401.
 * Not covered: pipeline templates, pause/resume, PipelineJob delete, batch calls, gRPC.
 */
import { createPublicKey, createVerify, type KeyObject } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { runPipelineSpec, type IrExecutorOptions } from "@orch/kfp/testing";

/** How the IR's tasks run: @orch/kfp/testing's executor options (process or Docker, base env, cwd). */
export type ExecutorOptions = Pick<IrExecutorOptions, "mode" | "docker" | "baseEnv" | "cwd" | "maxParallelism">;

export interface FakeVertexOptions {
  executor?: ExecutorOptions;
  /** PEM public key (or KeyObject) of the service account whose JWTs are accepted, and its email. */
  serviceAccount: { publicKey: string | KeyObject; email: string };
  /** Projects that exist (others: 403 PERMISSION_DENIED, as Vertex answers for a project you cannot see). */
  projects?: string[];
}

type Json = Record<string, any>;

export interface FakeVertex {
  url: string;
  port: number;
  /** `METHOD path?query` of every request. */
  requests: string[];
  /** Request bodies of createPipelineJob, as received. */
  createdJobs: Json[];
  jobs: Map<string, Json>;
  schedules: Map<string, Json>;
  /** Starts a run of a schedule as Vertex does at its cron time; undefined when maxConcurrentRunCount is reached. */
  trigger(scheduleName: string): Json | undefined;
  /** Makes the next `count` requests whose `METHOD path` matches `pattern` fail with HTTP `status`. */
  failNext(count: number, status: number, pattern?: RegExp): void;
  /** What a job's task printed (Vertex keeps it in Cloud Logging). */
  taskLog(jobName: string, task: string): string;
  /** Resolves when every job has ended. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const PIPELINE_STATES: Record<string, number> = {
  PIPELINE_STATE_UNSPECIFIED: 0,
  PIPELINE_STATE_QUEUED: 1,
  PIPELINE_STATE_PENDING: 2,
  PIPELINE_STATE_RUNNING: 3,
  PIPELINE_STATE_SUCCEEDED: 4,
  PIPELINE_STATE_FAILED: 5,
  PIPELINE_STATE_CANCELLING: 6,
  PIPELINE_STATE_CANCELLED: 7,
  PIPELINE_STATE_PAUSED: 8,
};
const TASK_STATES: Record<string, number> = { STATE_UNSPECIFIED: 0, PENDING: 1, RUNNING: 2, SUCCEEDED: 3, CANCEL_PENDING: 4, CANCELLING: 5, CANCELLED: 6, FAILED: 7, SKIPPED: 8, NOT_TRIGGERED: 9 };
const SCHEDULE_STATES: Record<string, number> = { STATE_UNSPECIFIED: 0, ACTIVE: 1, PAUSED: 2, COMPLETED: 3 };
const TERMINAL = new Set(["PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"]);
const STATUS_NAMES: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly status = STATUS_NAMES[code] ?? "UNKNOWN",
  ) {
    super(message);
  }
}

/**
 * Vertex resolves `{{$.pipeline_job_name}}` (and `_uuid`) in a task's constant inputs to the job's id
 * before the task runs (the KFP SDK's PIPELINE_JOB_NAME_PLACEHOLDER passed as an argument).
 */
function resolveJobPlaceholders(ir: Record<string, any>, jobId: string): Record<string, any> {
  const resolved = structuredClone(ir);
  for (const task of Object.values<any>(resolved.root?.dag?.tasks ?? {})) {
    for (const binding of Object.values<any>(task.inputs?.parameters ?? {})) {
      if (typeof binding?.runtimeValue?.constant === "string") binding.runtimeValue.constant = binding.runtimeValue.constant.replace(/\{\{\$\.pipeline_job_(name|uuid)\}\}/g, jobId);
    }
  }
  return resolved;
}

const JOB_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;
const CRON = /^(?:(?:CRON_TZ|TZ)=(\S+)\s+)?(\S+\s+\S+\s+\S+\s+\S+\s+\S+)$/;

export async function startFakeVertex(options: FakeVertexOptions): Promise<FakeVertex> {
  const publicKey = typeof options.serviceAccount.publicKey === "string" ? createPublicKey(options.serviceAccount.publicKey) : options.serviceAccount.publicKey;
  const requests: string[] = [];
  const createdJobs: Json[] = [];
  const jobs = new Map<string, Json>();
  const schedules = new Map<string, Json>();
  const operations = new Map<string, { polls: number; done: Json }>();
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const failures: { count: number; status: number; pattern: RegExp }[] = [];
  const taskLogs = new Map<string, Map<string, string>>();
  let nextId = 1000;
  const now = () => new Date().toISOString();

  function authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? "";
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    if (!token) throw new HttpError(401, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    const [head, body, signature] = token.split(".");
    if (!head || !body || !signature) throw new HttpError(401, "Request had invalid authentication credentials.");
    const verifier = createVerify("RSA-SHA256");
    verifier.update(`${head}.${body}`);
    if (!verifier.verify(publicKey, Buffer.from(signature, "base64url"))) throw new HttpError(401, "Request had invalid authentication credentials (bad signature).");
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { iss?: string; exp?: number };
    if (claims.iss !== options.serviceAccount.email) throw new HttpError(401, `Request had invalid authentication credentials (issuer ${claims.iss}).`);
    if (!claims.exp || claims.exp * 1000 < Date.now()) throw new HttpError(401, "Request had invalid authentication credentials (expired).");
  }

  function parent(project: string, location: string): string {
    if (options.projects && !options.projects.includes(project)) {
      throw new HttpError(403, `Permission 'aiplatform.pipelineJobs.create' denied on resource '//aiplatform.googleapis.com/projects/${project}/locations/${location}' (or it may not exist).`);
    }
    return `projects/${project}/locations/${location}`;
  }

  /** Encodes enums the way the client asked: numbers with enum-encoding=int, names otherwise. */
  function encode(resource: Json, intEnums: boolean, kind: "job" | "schedule"): Json {
    const out = structuredClone(resource);
    delete out._runParameters;
    if (!intEnums) return out;
    if (kind === "job") {
      out.state = PIPELINE_STATES[out.state];
      for (const task of out.jobDetail?.taskDetails ?? []) {
        task.state = TASK_STATES[task.state];
        for (const status of task.pipelineTaskStatus ?? []) status.state = TASK_STATES[status.state];
      }
    } else {
      out.state = SCHEDULE_STATES[out.state];
    }
    return out;
  }

  function validateSpec(spec: unknown): Json {
    const ir = spec as Json | undefined;
    if (!ir || typeof ir !== "object" || !Object.keys(ir).length) {
      throw new HttpError(400, "Pipeline spec is empty. The pipelineSpec field must hold the compiled pipeline (a google.protobuf.Struct).");
    }
    for (const field of ["pipelineInfo", "root", "deploymentSpec", "components", "schemaVersion"]) {
      if (!(field in ir)) throw new HttpError(400, `Invalid pipeline spec: missing field ${field}.`);
    }
    if (!ir.root?.dag?.tasks || typeof ir.root.dag.tasks !== "object") throw new HttpError(400, "Invalid pipeline spec: root.dag.tasks is missing.");
    return ir;
  }

  /** Runtime parameters: the IR's defaults, then runtimeConfig.parameterValues (which must be declared). */
  function runParameters(ir: Json, runtimeConfig: Json | undefined): Record<string, unknown> {
    const declared = (ir.root?.inputDefinitions?.parameters ?? {}) as Record<string, Json>;
    const values: Record<string, unknown> = {};
    for (const [name, definition] of Object.entries(declared)) if ("defaultValue" in definition) values[name] = definition.defaultValue;
    for (const [name, value] of Object.entries((runtimeConfig?.parameterValues ?? {}) as Record<string, unknown>)) {
      if (!(name in declared)) throw new HttpError(400, `The pipeline parameter ${name} is not defined in the pipeline spec.`);
      values[name] = value;
    }
    for (const [name, definition] of Object.entries(declared)) {
      if (!(name in values) && !definition.isOptional) throw new HttpError(400, `Missing required pipeline parameter ${name}.`);
    }
    return values;
  }

  function createJob(parentName: string, body: Json, jobId: string | undefined, scheduleName?: string): Json {
    const id = jobId ?? `${String(body.displayName ?? "pipeline").toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 40)}-${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}${nextId++}`;
    if (!JOB_ID.test(id)) throw new HttpError(400, `Invalid pipelineJobId "${id}": it must match [a-z0-9][a-z0-9-]{0,127}.`);
    const name = `${parentName}/pipelineJobs/${id}`;
    if (jobs.has(name)) throw new HttpError(409, `PipelineJob ${name} already exists.`);
    const ir = validateSpec(body.pipelineSpec);
    if (!body.runtimeConfig?.gcsOutputDirectory && !ir.defaultPipelineRoot) throw new HttpError(400, "runtimeConfig.gcsOutputDirectory is required (the pipeline spec has no defaultPipelineRoot).");
    if (body.runtimeConfig?.gcsOutputDirectory && !String(body.runtimeConfig.gcsOutputDirectory).startsWith("gs://")) {
      throw new HttpError(400, `runtimeConfig.gcsOutputDirectory must be a Cloud Storage path (gs://…), got "${body.runtimeConfig.gcsOutputDirectory}".`);
    }
    const parameters = runParameters(ir, body.runtimeConfig);
    const job: Json = {
      ...structuredClone(body),
      name,
      state: "PIPELINE_STATE_PENDING",
      createTime: now(),
      updateTime: now(),
      labels: { ...(body.labels ?? {}), "vertex-ai-pipelines-run-billing-id": String(nextId++) },
      jobDetail: { pipelineContext: { name: `${parentName}/metadataStores/default/contexts/${ir.pipelineInfo.name}` }, taskDetails: [] },
      ...(scheduleName ? { scheduleName } : {}),
      _runParameters: parameters,
    };
    jobs.set(name, job);
    const controller = new AbortController();
    const done = runJob(job, ir, parameters, controller.signal).finally(() => running.delete(name));
    running.set(name, { controller, done });
    return job;
  }

  async function runJob(job: Json, ir: Json, parameters: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    if (signal.aborted) return finish(job, "PIPELINE_STATE_CANCELLED");
    job.state = "PIPELINE_STATE_RUNNING";
    job.startTime = now();
    job.updateTime = now();
    // The root task (the pipeline's DAG), as Vertex lists it first.
    const tasks: Json[] = job.jobDetail.taskDetails;
    tasks.push({ taskId: String(nextId++), taskName: ir.pipelineInfo.name, createTime: now(), startTime: now(), state: "RUNNING" });
    const byName = new Map<string, Json>();
    let result: { succeeded: boolean; message?: string };
    try {
      const run = await runPipelineSpec({
        ...options.executor,
        pipelineSpec: resolveJobPlaceholders(ir, job.name.split("/").pop()),
        parameters,
        // Vertex resolves {{$.pipeline_job_name}} to the job's id.
        runName: job.name.split("/").pop(),
        signal,
        onLog(task, _attempt, chunk) {
          const logs = (taskLogs.get(job.name) ?? new Map<string, string>()).set(task, (taskLogs.get(job.name)?.get(task) ?? "") + chunk);
          taskLogs.set(job.name, logs);
        },
        onTask(event) {
          let task = byName.get(event.task);
          if (!task) {
            task = { taskId: String(nextId++), parentTaskId: tasks[0]!.taskId, taskName: event.task, createTime: now(), state: "PENDING", pipelineTaskStatus: [] };
            byName.set(event.task, task);
            tasks.push(task);
          }
          const state = event.state === "CANCELED" ? "CANCELLED" : event.state;
          task.state = state;
          task.pipelineTaskStatus.push({ updateTime: now(), state });
          if (state === "RUNNING") {
            task.startTime ??= now();
            task.executorDetail = { containerDetail: { mainJob: `${job.name.replace(/pipelineJobs\/.*/, "")}customJobs/${nextId++}`, failedMainJobs: [] } };
          } else if (state !== "PENDING") {
            task.endTime = now();
            if (state === "FAILED") task.error = { code: 9, message: event.error ?? `The replica workerpool0-0 exited with a non-zero status of ${event.exitCode ?? 1}.` };
          }
          job.updateTime = now();
        },
      });
      const failed = Object.entries(run.tasks).find(([, t]) => t.state === "FAILED");
      result = { succeeded: run.state === "SUCCEEDED", ...(failed ? { message: `The DAG failed because some tasks failed. The failed tasks are: [${failed[0]}].` } : {}) };
    } catch (error) {
      result = { succeeded: false, message: `executing the pipeline failed: ${(error as Error).message}` };
    }
    tasks[0]!.endTime = now();
    if (signal.aborted) {
      for (const task of tasks) if (!["SUCCEEDED", "FAILED", "SKIPPED"].includes(task.state)) task.state = "CANCELLED";
      return finish(job, "PIPELINE_STATE_CANCELLED");
    }
    tasks[0]!.state = result.succeeded ? "SUCCEEDED" : "FAILED";
    if (!result.succeeded) job.error = { code: 9, message: result.message ?? "The DAG failed because some tasks failed." };
    finish(job, result.succeeded ? "PIPELINE_STATE_SUCCEEDED" : "PIPELINE_STATE_FAILED");
  }

  function finish(job: Json, state: string): void {
    job.state = state;
    job.endTime = now();
    job.updateTime = now();
  }

  function page<T>(items: T[], url: URL, kind: string): { items: T[]; next?: string } {
    const size = Math.min(Number(url.searchParams.get("pageSize") || 20), 100);
    if (!Number.isInteger(size) || size < 0) throw new HttpError(400, "Invalid page_size.");
    const token = url.searchParams.get("pageToken");
    let offset = 0;
    if (token) {
      const decoded = /^(\w+):(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
      if (!decoded || decoded[1] !== kind) throw new HttpError(400, "Invalid page_token.");
      offset = Number(decoded[2]);
    }
    const slice = items.slice(offset, offset + (size || 20));
    const end = offset + slice.length;
    return { items: slice, ...(end < items.length ? { next: Buffer.from(`${kind}:${end}`).toString("base64url") } : {}) };
  }

  /** AIP-160 filters as the SDK's users write them: `labels.k="v"`, `display_name="x"`, `state="…"`, joined by AND. */
  function matches(job: Json, filter: string | null): boolean {
    if (!filter) return true;
    return filter.split(/\s+AND\s+/).every((clause) => {
      const m = /^\s*([a-zA-Z_.\-0-9]+)\s*=\s*"([^"]*)"\s*$/.exec(clause);
      if (!m) throw new HttpError(400, `Unsupported filter: ${clause}`);
      const [, field, value] = m;
      if (field!.startsWith("labels.")) return job.labels?.[field!.slice(7)] === value;
      if (field === "display_name") return job.displayName === value;
      if (field === "state") return job.state === value;
      throw new HttpError(400, `Unsupported filter field: ${field}`);
    });
  }

  function createSchedule(parentName: string, body: Json): Json {
    if (!body.displayName) throw new HttpError(400, "Schedule display_name is required.");
    const cron = CRON.exec(String(body.cron ?? ""));
    if (!cron) throw new HttpError(400, `Invalid cron "${body.cron}": expected 5 fields, optionally prefixed by TZ=<IANA time zone>.`);
    if (cron[1]) {
      try {
        new Intl.DateTimeFormat("en", { timeZone: cron[1] });
      } catch {
        throw new HttpError(400, `Invalid time zone in cron: ${cron[1]}.`);
      }
    }
    if (!(Number(body.maxConcurrentRunCount) > 0)) throw new HttpError(400, "max_concurrent_run_count must be greater than 0.");
    const request = body.createPipelineJobRequest as Json | undefined;
    if (!request?.pipelineJob) throw new HttpError(400, "Schedule needs create_pipeline_job_request.");
    if (request.parent !== parentName) throw new HttpError(400, `create_pipeline_job_request.parent (${request.parent}) must be the schedule's parent ${parentName}.`);
    validateSpec(request.pipelineJob.pipelineSpec);
    const name = `${parentName}/schedules/${nextId++}`;
    const schedule: Json = { ...structuredClone(body), name, state: "ACTIVE", createTime: now(), updateTime: now(), startTime: body.startTime ?? now(), startedRunCount: "0" };
    schedules.set(name, schedule);
    return schedule;
  }

  function trigger(scheduleName: string): Json | undefined {
    const schedule = schedules.get(scheduleName);
    if (!schedule) throw new Error(`no schedule ${scheduleName}`);
    if (schedule.state !== "ACTIVE") return undefined;
    const active = [...jobs.values()].filter((job) => job.scheduleName === scheduleName && !TERMINAL.has(job.state)).length;
    if (active >= Number(schedule.maxConcurrentRunCount)) return undefined;
    const request = schedule.createPipelineJobRequest as Json;
    const job = createJob(request.parent, request.pipelineJob, undefined, scheduleName);
    schedule.startedRunCount = String(Number(schedule.startedRunCount) + 1);
    schedule.lastScheduledRunResponse = { scheduledRunTime: now(), runResponse: job.name };
    if (schedule.maxRunCount && Number(schedule.startedRunCount) >= Number(schedule.maxRunCount)) schedule.state = "COMPLETED";
    return job;
  }

  async function route(req: IncomingMessage, url: URL, body: Json): Promise<{ status?: number; json: Json; kind?: "job" | "schedule" }> {
    const path = url.pathname;
    let m: RegExpExecArray | null;
    if ((m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/pipelineJobs$/.exec(path))) {
      const parentName = parent(m[1]!, m[2]!);
      if (req.method === "POST") {
        createdJobs.push(structuredClone(body));
        return { json: createJob(parentName, body, url.searchParams.get("pipelineJobId") ?? undefined), kind: "job" };
      }
      if (req.method === "GET") {
        const all = [...jobs.values()].filter((job) => job.name.startsWith(`${parentName}/`) && matches(job, url.searchParams.get("filter")));
        const { items, next } = page(all, url, "jobs");
        return { json: { pipelineJobs: items, ...(next ? { nextPageToken: next } : {}) }, kind: "job" };
      }
    }
    if ((m = /^\/v1\/(projects\/([^/]+)\/locations\/([^/]+)\/pipelineJobs\/([^/:]+))(:cancel)?$/.exec(path))) {
      parent(m[2]!, m[3]!);
      const job = jobs.get(m[1]!);
      if (!job) throw new HttpError(404, `The PipelineJob "${m[1]}" does not exist.`);
      if (req.method === "GET" && !m[5]) return { json: job, kind: "job" };
      if (req.method === "POST" && m[5]) {
        if (TERMINAL.has(job.state)) throw new HttpError(400, `Cannot cancel pipeline job ${m[1]} in state ${job.state}.`, "FAILED_PRECONDITION");
        if (job.state !== "PIPELINE_STATE_CANCELLING") {
          job.state = "PIPELINE_STATE_CANCELLING";
          job.updateTime = now();
          running.get(job.name)?.controller.abort();
        }
        return { json: {} };
      }
    }
    if ((m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/schedules$/.exec(path))) {
      const parentName = parent(m[1]!, m[2]!);
      if (req.method === "POST") return { json: createSchedule(parentName, body), kind: "schedule" };
      if (req.method === "GET") {
        const all = [...schedules.values()].filter((s) => s.name.startsWith(`${parentName}/`));
        const { items, next } = page(all, url, "schedules");
        return { json: { schedules: items, ...(next ? { nextPageToken: next } : {}) }, kind: "schedule" };
      }
    }
    if ((m = /^\/v1\/(projects\/([^/]+)\/locations\/([^/]+)\/schedules\/([^/:]+))$/.exec(path))) {
      parent(m[2]!, m[3]!);
      const schedule = schedules.get(m[1]!);
      if (!schedule) throw new HttpError(404, `The Schedule "${m[1]}" does not exist.`);
      if (req.method === "GET") return { json: schedule, kind: "schedule" };
      if (req.method === "DELETE") {
        schedules.delete(m[1]!);
        const name = `${m[1]!.replace(/schedules\/.*/, "")}operations/${nextId++}`;
        const metadata = { "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata", genericMetadata: { createTime: now(), updateTime: now() } };
        operations.set(name, { polls: 0, done: { name, metadata, done: true, response: { "@type": "type.googleapis.com/google.protobuf.Empty" } } });
        // Not done at first: the client polls the operation, as for the real service.
        return { json: { name, metadata, done: false } };
      }
    }
    // The SDK polls operations at /ui/… (the first HTTP binding aiplatform declares), /v1/… works too.
    if ((m = /^\/(?:v1|ui)\/(projects\/[^/]+\/locations\/[^/]+\/operations\/[^/:]+)$/.exec(path)) && req.method === "GET") {
      const operation = operations.get(m[1]!);
      if (!operation) throw new HttpError(404, `Operation ${m[1]} does not exist.`);
      operation.polls++;
      return { json: operation.done };
    }
    throw new HttpError(404, `The requested URL ${path} was not found on this server (${req.method}).`);
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        requests.push(`${req.method} ${url.pathname}${url.search}`);
        const send = (status: number, json: Json) => {
          res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
          res.end(JSON.stringify(json));
        };
        try {
          const failure = failures.find((f) => f.count > 0 && f.pattern.test(`${req.method} ${url.pathname}`));
          if (failure) {
            failure.count--;
            throw new HttpError(failure.status, "The service is currently unavailable.");
          }
          authorize(req);
          const text = Buffer.concat(chunks).toString("utf8");
          let body: Json = {};
          if (text) {
            try {
              body = JSON.parse(text) as Json;
            } catch {
              throw new HttpError(400, "Invalid JSON payload received.");
            }
          }
          const intEnums = (url.searchParams.get("$alt") ?? "").includes("enum-encoding=int");
          const { status, json, kind } = await route(req, url, body);
          if (kind === "job" && json.pipelineJobs) json.pipelineJobs = json.pipelineJobs.map((j: Json) => encode(j, intEnums, "job"));
          else if (kind === "schedule" && json.schedules) json.schedules = json.schedules.map((s: Json) => encode(s, intEnums, "schedule"));
          send(status ?? 200, kind ? (json.pipelineJobs || json.schedules ? json : encode(json, intEnums, kind)) : json);
        } catch (error) {
          if (error instanceof HttpError) send(error.code, { error: { code: error.code, message: error.message, status: error.status } });
          else send(500, { error: { code: 500, message: String((error as Error)?.stack ?? error), status: "INTERNAL" } });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    createdJobs,
    jobs,
    schedules,
    trigger,
    taskLog: (jobName, task) => taskLogs.get(jobName)?.get(task) ?? "",
    failNext(count, status, pattern = /./) {
      failures.push({ count, status, pattern });
    },
    async idle() {
      await Promise.all([...running.values()].map((r) => r.done));
    },
    async close() {
      for (const { controller } of running.values()) controller.abort();
      await Promise.all([...running.values()].map((r) => r.done.catch(() => {})));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
