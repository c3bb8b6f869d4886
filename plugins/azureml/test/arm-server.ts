/**
 * A loopback Azure Resource Manager server for the Azure ML operations orch uses (api-version
 * 2022-10-01), spoken to by the real @azure/arm-machinelearning client over HTTPS:
 *
 * - jobs: PUT (201 new, 200 same body again, 409 a different body), GET, list with `parentJobName`
 *   and `nextLink` paging, POST cancel (202 + Location, polled until the job is Canceled);
 * - environment versions: PUT;
 * - schedules: PUT (201 + Azure-AsyncOperation), GET, list (paged), DELETE (202 + Location);
 * - ARM error bodies `{ error: { code, message } }`, 404 for what does not exist, 429 + Retry-After
 *   when a test asks for throttling, 400 for a wrong api-version or an invalid body;
 * - an App Service managed-identity token endpoint, so DefaultAzureCredential works in child processes.
 *
 * It EXECUTES what it was given: the submitted PipelineJob's command nodes (not orch's snapshot), in
 * the order their data bindings give, each as a child process (`sh -c <command>`) with its
 * environment_variables. Child jobs go NotStarted → Queued → Running → Completed / Failed /
 * CancelRequested → Canceled, and are listed by parentJobName. A node's output becomes its
 * `user_logs/std_log.txt`, handed to `onLog` (the tests write it to Azurite, like the workspace's storage).
 * As Azure ML does, every command gets `AZUREML_ROOT_RUN_ID` = the name of its pipeline job.
 *
 * Schedules do not fire on a clock here: a test fires one with `fireSchedule(name)`, which creates and
 * executes a pipeline job from the schedule's CreateJob action as Azure ML's scheduler would. Azure ML
 * names those jobs itself; this server names them `<schedule>-<UTC time>-<n>` (the n-th firing), so
 * nothing in the job definition can know the name beforehand.
 * A failed node's downstream nodes never run (they end Canceled), with or without
 * `settings.continue_on_step_failure` — which only lets nodes that do not depend on the failed one go on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import type { TestCertificate } from "./tls.js";

export const API_VERSION = "2022-10-01";
export const TEST_TOKEN = "orch-test-token";
export const IDENTITY_HEADER = "orch-test-identity";

type Json = Record<string, any>;

export interface ArmJob {
  name: string;
  body: Json;
  status: string;
  parentJobName?: string;
  process?: ChildProcess;
  output: string;
}

export interface ArmServerOptions {
  certificate: TestCertificate;
  /** Where each child job's user_logs/std_log.txt goes. */
  onLog?: (job: ArmJob, text: string) => Promise<void>;
  /** Extra environment of every command (what the compute gives a job). */
  jobEnv?: Record<string, string>;
  /** Route kinds ("PUT jobs", "GET jobs", "POST cancel", "PUT schedules" …) answered once with 429 first. */
  throttleOnce?: string[];
  /** How long a cancelled job's processes get between SIGTERM and SIGKILL (default 3 s). */
  killGraceMs?: number;
  /** Page size of list operations (small, so paging is exercised). */
  pageSize?: number;
  /** Leave AZUREML_ROOT_RUN_ID out of the commands' environment (a test of what happens without it). */
  omitRootRunId?: boolean;
  /** Problems with a submitted PipelineJob body beyond the basic checks (the tests plug the spec validator in). */
  validateJob?: (body: Json) => string[];
}

export interface ArmServer {
  url: string;
  jobs: Map<string, ArmJob>;
  schedules: Map<string, Json>;
  environments: Map<string, Json>;
  requests: { method: string; path: string; status: number }[];
  /** Fires a schedule now, as Azure ML's scheduler would: returns the name of the pipeline job it created. */
  fireSchedule(name: string): string;
  /** Resolves when the job reaches one of `statuses`. */
  waitFor(name: string, statuses: string[]): Promise<ArmJob>;
  close(): Promise<void>;
}

const WORKSPACE = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)(\/.*)?$/i;
const FINISHED = new Set(["Completed", "Failed", "Canceled"]);
const BINDING = /^\$\{\{parent\.jobs\.([A-Za-z0-9_]+)\.outputs\.([A-Za-z0-9_]+)\}\}$/;

/** Checks Azure ML makes of a pipeline job that its schema cannot: bindings point at existing outputs, no cycles. */
export function bindingProblems(body: Json): string[] {
  const jobs: Json = body?.properties?.jobs ?? {};
  const problems: string[] = [];
  for (const [name, node] of Object.entries<Json>(jobs)) {
    for (const [input, value] of Object.entries<Json>(node.inputs ?? {})) {
      const match = typeof value?.value === "string" ? BINDING.exec(value.value) : null;
      if (!match) continue;
      const [, upstream, output] = match;
      if (!jobs[upstream!]) problems.push(`jobs.${name}.inputs.${input}: binds to job ${upstream}, which the pipeline does not have`);
      else if (!jobs[upstream!].outputs?.[output!]) problems.push(`jobs.${name}.inputs.${input}: binds to ${upstream}.outputs.${output}, which that job does not declare`);
    }
  }
  try {
    executionOrder(jobs);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/** Upstream nodes of each node, from its input bindings. */
function upstreamOf(jobs: Json): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const [name, node] of Object.entries<Json>(jobs)) {
    const ups: string[] = [];
    for (const value of Object.values<Json>(node.inputs ?? {})) {
      const match = typeof value?.value === "string" ? BINDING.exec(value.value) : null;
      if (match) ups.push(match[1]!);
    }
    deps.set(name, ups);
  }
  return deps;
}

/** A topological order of the nodes (throws on a cycle). */
function executionOrder(jobs: Json): string[] {
  const deps = upstreamOf(jobs);
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") throw new Error(`the data bindings form a cycle: ${[...path, name].join(" → ")}`);
    state.set(name, "visiting");
    for (const up of deps.get(name) ?? []) if (deps.has(up)) visit(up, [...path, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const name of deps.keys()) visit(name, []);
  return order;
}

/** Signals every process of a job (its shell has its own process group); a group already gone is fine. */
function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (proc.pid) process.kill(-proc.pid, signal);
  } catch {
    // the group has ended
  }
}

export async function startArmServer(options: ArmServerOptions): Promise<ArmServer> {
  const jobs = new Map<string, ArmJob>();
  const schedules = new Map<string, Json>();
  const environments = new Map<string, Json>();
  const operations = new Map<string, () => { done: boolean; status?: string }>();
  const requests: ArmServer["requests"] = [];
  const throttle = new Set(options.throttleOnce ?? []);
  const pageSize = options.pageSize ?? 2;
  const waiters = new Set<() => void>();
  const firings = new Map<string, number>();
  let base = "";

  const changed = () => {
    for (const wake of [...waiters]) wake();
  };
  const setStatus = (job: ArmJob, status: string) => {
    job.status = status;
    changed();
  };

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", "x-ms-request-id": randomUUID(), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const armError = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    send(res, status, { error: { code, message } }, headers);

  const jobResource = (ws: string, job: ArmJob) => ({
    id: `${ws}/jobs/${job.name}`,
    name: job.name,
    type: "Microsoft.MachineLearningServices/workspaces/jobs",
    properties: { ...job.body.properties, status: job.status, ...(job.parentJobName ? { parentJobName: job.parentJobName } : {}) },
    systemData: { createdAt: new Date().toISOString(), createdBy: "orch-test", createdByType: "User" },
  });

  const page = (res: ServerResponse, url: URL, items: unknown[]) => {
    const skip = Number(url.searchParams.get("$skipToken") ?? 0);
    const value = items.slice(skip, skip + pageSize);
    const next = new URL(url.toString());
    next.searchParams.set("$skipToken", String(skip + pageSize));
    send(res, 200, { value, ...(skip + pageSize < items.length ? { nextLink: `${base}${next.pathname}${next.search}` } : {}) });
  };

  /** Runs the pipeline job's command nodes in binding order; a node starts when its upstream nodes completed. */
  async function execute(ws: string, parent: ArmJob): Promise<void> {
    const nodes: Json = parent.body.properties.jobs ?? {};
    const deps = upstreamOf(nodes);
    const children = new Map<string, ArmJob>();
    for (const [name, node] of Object.entries<Json>(nodes)) {
      const child: ArmJob = {
        name: `${parent.name}_${name}`,
        parentJobName: parent.name,
        status: "NotStarted",
        output: "",
        body: { properties: { jobType: "Command", displayName: node.display_name ?? name, command: node.command, environmentId: node.environment_id, computeId: node.computeId, experimentName: parent.body.properties.experimentName, tags: node.tags ?? {}, properties: { "azureml.nodeid": name } } },
      };
      children.set(name, child);
      jobs.set(child.name, child);
    }
    setStatus(parent, "Running");
    const continueOnFailure = Boolean(parent.body.properties.settings?.continue_on_step_failure);
    const runNode = (name: string, child: ArmJob) =>
      new Promise<void>((resolve) => {
        const node = nodes[name]!;
        setStatus(child, "Queued");
        setStatus(child, "Running");
        const rootRunId = options.omitRootRunId ? {} : { AZUREML_ROOT_RUN_ID: parent.name };
        const env = { ...process.env, ...options.jobEnv, ...node.environment_variables, ...rootRunId };
        if (options.omitRootRunId) delete env.AZUREML_ROOT_RUN_ID;
        const proc = spawn("sh", ["-c", node.command], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
        child.process = proc;
        proc.stdout!.on("data", (d: Buffer) => (child.output += d.toString()));
        proc.stderr!.on("data", (d: Buffer) => (child.output += d.toString()));
        proc.on("close", async (code) => {
          child.process = undefined;
          await options.onLog?.(child, child.output).catch(() => {});
          setStatus(child, child.status === "CancelRequested" ? "Canceled" : code === 0 ? "Completed" : "Failed");
          resolve();
        });
      });
    const running = new Map<string, Promise<void>>();
    for (;;) {
      if (parent.status === "CancelRequested") break;
      const failed = [...children.values()].some((c) => c.status === "Failed");
      if (failed && !continueOnFailure) break;
      for (const [name, child] of children) {
        if (child.status !== "NotStarted" || running.has(name)) continue;
        const ups = deps.get(name) ?? [];
        if (ups.some((up) => ["Failed", "Canceled"].includes(children.get(up)?.status ?? ""))) {
          setStatus(child, "Canceled"); // never runs: an upstream node did not complete
          continue;
        }
        if (ups.every((up) => children.get(up)?.status === "Completed")) running.set(name, runNode(name, child));
      }
      const pending = [...children.values()].filter((c) => !FINISHED.has(c.status));
      if (pending.length === 0) break;
      await new Promise<void>((wake) => {
        waiters.add(function once() {
          waiters.delete(once);
          wake();
        });
      });
    }
    await Promise.all(running.values());
    for (const child of children.values()) if (!FINISHED.has(child.status)) setStatus(child, "Canceled");
    const statuses = [...children.values()].map((c) => c.status);
    setStatus(parent, parent.status === "CancelRequested" ? "Canceled" : statuses.every((s) => s === "Completed") ? "Completed" : "Failed");
    void ws;
  }

  async function cancel(job: ArmJob): Promise<void> {
    if (FINISHED.has(job.status)) return;
    setStatus(job, "CancelRequested");
    for (const child of jobs.values()) {
      if (child.parentJobName !== job.name || FINISHED.has(child.status)) continue;
      if (child.process) {
        setStatus(child, "CancelRequested");
        // The whole process group, as stopping a job's container ends everything in it: SIGTERM, then
        // SIGKILL after the grace period (a step function may ignore its abort signal).
        const proc = child.process;
        killGroup(proc, "SIGTERM");
        setTimeout(() => killGroup(proc, "SIGKILL"), options.killGraceMs ?? 3000).unref();
      } else setStatus(child, "Canceled");
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<number> {
    const url = new URL(req.url ?? "/", base);
    const method = req.method ?? "GET";
    // The managed-identity endpoint (App Service flavour) that DefaultAzureCredential asks in child processes.
    if (url.pathname === "/msi/token") {
      if (req.headers["x-identity-header"] !== IDENTITY_HEADER) return (armError(res, 401, "Unauthorized", "wrong X-IDENTITY-HEADER"), 401);
      send(res, 200, { access_token: TEST_TOKEN, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: url.searchParams.get("resource"), token_type: "Bearer" });
      return 200;
    }
    if (req.headers.authorization !== `Bearer ${TEST_TOKEN}`) return (armError(res, 401, "AuthenticationFailed", "Authentication failed: no valid bearer token."), 401);
    if (url.pathname.startsWith("/operations/")) {
      const op = operations.get(url.pathname.slice("/operations/".length));
      if (!op) return (armError(res, 404, "NotFound", "No such operation."), 404);
      const { done, status } = op();
      if (url.searchParams.get("kind") === "async") return (send(res, 200, { status: done ? (status ?? "Succeeded") : "InProgress" }), 200);
      if (!done) return (send(res, 202, undefined, { location: `${base}${url.pathname}${url.search}`, "retry-after": "0" }), 202);
      return (send(res, 200, {}), 200);
    }
    const match = WORKSPACE.exec(url.pathname);
    if (!match) return (armError(res, 404, "InvalidResourceType", `No route for ${url.pathname}.`), 404);
    if (url.searchParams.get("api-version") !== API_VERSION) {
      return (armError(res, 400, "InvalidApiVersionParameter", `The api-version '${url.searchParams.get("api-version")}' is invalid. The supported versions are '${API_VERSION}'.`), 400);
    }
    const ws = url.pathname.slice(0, url.pathname.length - (match[4]?.length ?? 0));
    const rest = (match[4] ?? "").split("/").filter(Boolean);
    const kind = `${method} ${rest[0] === "jobs" && rest[2] === "cancel" ? "cancel" : rest[0]}`;
    if (throttle.delete(kind)) return (armError(res, 429, "TooManyRequests", "Too many requests.", { "retry-after": "0" }), 429);
    const body = raw ? (JSON.parse(raw) as Json) : undefined;

    if (rest[0] === "environments" && rest[2] === "versions" && rest[3] && method === "PUT") {
      const key = `${rest[1]}:${rest[3]}`;
      const existed = environments.has(key);
      if (!body?.properties?.image) return (armError(res, 400, "UserError", "An environment version needs properties.image."), 400);
      environments.set(key, body);
      send(res, existed ? 200 : 201, { id: `${ws}/environments/${rest[1]}/versions/${rest[3]}`, name: rest[3], properties: body.properties });
      return existed ? 200 : 201;
    }

    if (rest[0] === "jobs") {
      const name = rest[1];
      if (!name && method === "GET") {
        const parentName = url.searchParams.get("parentJobName");
        page(res, url, [...jobs.values()].filter((j) => (parentName ? j.parentJobName === parentName : !j.parentJobName)).map((j) => jobResource(ws, j)));
        return 200;
      }
      const job = name ? jobs.get(name) : undefined;
      if (rest[2] === "cancel" && method === "POST") {
        if (!job) return (armError(res, 404, "UserError", `Job ${name} not found.`), 404);
        await cancel(job);
        const id = randomUUID();
        operations.set(id, () => ({ done: FINISHED.has(job.status) }));
        send(res, 202, undefined, { location: `${base}/operations/${id}?api-version=${API_VERSION}`, "retry-after": "0" });
        return 202;
      }
      if (method === "GET") {
        if (!job) return (armError(res, 404, "UserError", `Job ${name} not found.`), 404);
        return (send(res, 200, jobResource(ws, job)), 200);
      }
      if (method === "PUT" && name) {
        const props = body?.properties;
        const problems: string[] = [];
        if (props?.jobType !== "Pipeline") problems.push(`properties.jobType: expected "Pipeline", got ${JSON.stringify(props?.jobType)}`);
        for (const [node, spec] of Object.entries<Json>(props?.jobs ?? {})) {
          if (spec.type !== "command") problems.push(`jobs.${node}.type: only command nodes run here`);
          if (typeof spec.command !== "string" || !spec.command) problems.push(`jobs.${node}.command: required`);
          if (spec.environmentVariables) problems.push(`jobs.${node}: environmentVariables is the ARM CommandJob spelling; pipeline nodes take environment_variables`);
        }
        problems.push(...bindingProblems(body ?? {}), ...(options.validateJob?.(body ?? {}) ?? []));
        if (problems.length) return (armError(res, 400, "UserError", `Invalid pipeline job: ${problems.join("; ")}`), 400);
        if (job) {
          if (JSON.stringify(job.body.properties.jobs) !== JSON.stringify(props.jobs) || job.body.properties.tags?.["orch.snapshot-hash"] !== props.tags?.["orch.snapshot-hash"]) {
            return (armError(res, 409, "Conflict", `Job ${name} already exists with another definition; a job's definition cannot be changed.`), 409);
          }
          return (send(res, 200, jobResource(ws, job)), 200);
        }
        const created: ArmJob = { name, body: body!, status: "NotStarted", output: "" };
        jobs.set(name, created);
        send(res, 201, jobResource(ws, created));
        setImmediate(() => void execute(ws, created));
        return 201;
      }
    }

    if (rest[0] === "schedules") {
      const name = rest[1];
      if (!name && method === "GET") {
        page(res, url, [...schedules.entries()].map(([n, s]) => ({ id: `${ws}/schedules/${n}`, name: n, properties: s.properties })));
        return 200;
      }
      if (!name) return (armError(res, 404, "NotFound", "No route."), 404);
      if (method === "PUT") {
        const trigger = body?.properties?.trigger;
        if (!["Cron", "Recurrence"].includes(trigger?.triggerType)) return (armError(res, 400, "UserError", "properties.trigger.triggerType must be Cron or Recurrence."), 400);
        if (trigger.triggerType === "Cron" && String(trigger.expression ?? "").trim().split(/\s+/).length !== 5) return (armError(res, 400, "UserError", "A Cron trigger takes 5 fields."), 400);
        if (body?.properties?.action?.actionType !== "CreateJob" || body.properties.action.jobDefinition?.jobType !== "Pipeline") {
          return (armError(res, 400, "UserError", "properties.action must be a CreateJob action with a Pipeline jobDefinition."), 400);
        }
        const problems = [...bindingProblems({ properties: body.properties.action.jobDefinition }), ...(options.validateJob?.({ properties: body.properties.action.jobDefinition }) ?? [])];
        if (problems.length) return (armError(res, 400, "UserError", `Invalid schedule job: ${problems.join("; ")}`), 400);
        const existed = schedules.has(name);
        schedules.set(name, { properties: { ...body.properties, provisioningState: "Succeeded" }, subscription: match[1], resourceGroup: match[2], workspace: match[3] });
        const id = randomUUID();
        let polls = 0;
        operations.set(id, () => ({ done: ++polls > 1 }));
        send(res, existed ? 200 : 201, { id: `${ws}/schedules/${name}`, name, properties: { ...body.properties, provisioningState: "Creating" } }, {
          "azure-asyncoperation": `${base}/operations/${id}?api-version=${API_VERSION}&kind=async`,
          "retry-after": "0",
        });
        return existed ? 200 : 201;
      }
      const schedule = schedules.get(name);
      if (!schedule) return (armError(res, 404, "UserError", `Schedule ${name} not found.`), 404);
      if (method === "GET") return (send(res, 200, { id: `${ws}/schedules/${name}`, name, properties: schedule.properties }), 200);
      if (method === "DELETE") {
        const id = randomUUID();
        let polls = 0;
        operations.set(id, () => {
          if (++polls > 1) schedules.delete(name);
          return { done: polls > 1 };
        });
        send(res, 202, undefined, { location: `${base}/operations/${id}?api-version=${API_VERSION}`, "retry-after": "0" });
        return 202;
      }
    }
    armError(res, 405, "MethodNotAllowed", `${method} ${url.pathname} is not supported here.`);
    return 405;
  }

  const server: Server = createServer({ key: options.certificate.key, cert: options.certificate.cert }, (req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      handle(req, res, raw)
        .then((status) => requests.push({ method: req.method ?? "", path: req.url ?? "", status }))
        .catch((error: Error) => {
          requests.push({ method: req.method ?? "", path: req.url ?? "", status: 500 });
          if (!res.headersSent) armError(res, 500, "InternalServerError", error.message);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    jobs,
    schedules,
    environments,
    requests,
    fireSchedule(name) {
      const schedule = schedules.get(name);
      if (!schedule) throw new Error(`no schedule ${name}`);
      const n = (firings.get(name) ?? 0) + 1;
      firings.set(name, n);
      const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
      const job: ArmJob = { name: `${name}-${stamp}-${n}`, body: { properties: structuredClone(schedule.properties.action.jobDefinition) }, status: "NotStarted", output: "" };
      jobs.set(job.name, job);
      const ws = `/subscriptions/${schedule.subscription}/resourceGroups/${schedule.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${schedule.workspace}`;
      setImmediate(() => void execute(ws, job));
      return job.name;
    },
    waitFor(name, statuses) {
      return new Promise((resolve) => {
        const check = () => {
          const job = jobs.get(name);
          if (job && statuses.includes(job.status)) {
            waiters.delete(check);
            resolve(job);
          }
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const job of jobs.values()) if (job.process) killGroup(job.process, "SIGKILL");
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
