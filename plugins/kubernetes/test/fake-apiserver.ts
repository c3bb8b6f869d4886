/**
 * A loopback Kubernetes API server for tests: the API paths the plugin uses, with a real server's
 * behaviour (resourceVersions, list + watch with bookmarks and 410 Gone, 404/409/422 Status bodies,
 * DeleteOptions read from the request body, 403 for pods before the namespace's service account exists)
 * and a tiny Job controller + kubelet: each Job gets a pod whose container command runs as a local child
 * process; the pod's phase follows the process's exit code and its logs are the process's output.
 *
 * Differences from a real cluster (documented in the README): no images (the command must be runnable on
 * this machine: tests use `node --import tsx <file.ts>` with absolute paths), no volumes (every "pod" sees
 * this machine's files), no scheduling, Job backoff of 100 ms instead of 10 s, objects are deleted at once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Obj = Record<string, any> & { metadata: Record<string, any> };
type Kind = "jobs" | "pods" | "cronjobs";

interface WatchEvent {
  rv: number;
  kind: Kind;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: Obj;
}

interface Watcher {
  kind: Kind;
  namespace: string;
  selector: string | undefined;
  fieldName: string | undefined;
  res: ServerResponse;
}

export interface FakeApiServerOptions {
  /** Environment every pod process gets (the kubelet's injected variables; tests set KUBECONFIG here). */
  podEnv?: Record<string, string>;
  /** Namespaces whose `default` service account exists from the start (default: ["default"]). */
  serviceAccounts?: string[];
  /** Interval of BOOKMARK events on watches that allow them (ms). */
  bookmarkIntervalMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
}

const KIND_META: Record<Kind, { kind: string; apiVersion: string; resource: string }> = {
  jobs: { kind: "Job", apiVersion: "batch/v1", resource: "jobs.batch" },
  pods: { kind: "Pod", apiVersion: "v1", resource: "pods" },
  cronjobs: { kind: "CronJob", apiVersion: "batch/v1", resource: "cronjobs.batch" },
};
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class FakeApiServer {
  readonly objects: Record<Kind, Map<string, Obj>> = { jobs: new Map(), pods: new Map(), cronjobs: new Map() };
  readonly serviceAccounts = new Set<string>();
  readonly requests: RecordedRequest[] = [];
  /** Names of objects created, in order (kind/name), including pods created by the Job controller. */
  readonly created: string[] = [];
  private rv = 100;
  private compactedBelow = 0;
  private history: WatchEvent[] = [];
  private watchers = new Set<Watcher>();
  private processes = new Map<string, ChildProcess>();
  private logs = new Map<string, { text: string; ended: boolean; listeners: Set<(chunk: string | null) => void> }>();
  private timers = new Set<NodeJS.Timeout>();
  private server!: Server;
  url = "";

  constructor(private readonly options: FakeApiServerOptions = {}) {
    for (const ns of options.serviceAccounts ?? ["default"]) this.serviceAccounts.add(`${ns}/default`);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((error) => this.status(res, 500, "InternalError", String(error?.stack ?? error))));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const child of this.processes.values()) child.kill("SIGKILL");
    for (const watcher of this.watchers) watcher.res.end();
    this.watchers.clear();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A kubeconfig (YAML) whose only context points at this server. */
  kubeconfig(namespace = "default"): string {
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      "users:",
      "- name: tester\n  user:\n    token: fake-token",
      "contexts:",
      `- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: ${namespace}`,
      "current-context: fake",
      "",
    ].join("\n");
  }

  addServiceAccount(namespace: string, name = "default"): void {
    this.serviceAccounts.add(`${namespace}/${name}`);
  }

  /** Forgets the event history: watches resuming from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.rv++;
    this.compactedBelow = this.rv;
    this.history = [];
  }

  /** Ends every open watch connection (API server restart, load balancer timeout). */
  dropWatches(): void {
    for (const watcher of this.watchers) watcher.res.end();
    this.watchers.clear();
  }

  /** Kills a pod's process as a node crash or OOM kill would (the pod fails; its Job may replace it). */
  killPodProcess(podName: string, signal: NodeJS.Signals = "SIGKILL"): void {
    for (const [key, child] of this.processes) if (key.endsWith(`/${podName}`)) child.kill(signal);
  }

  list(kind: Kind, selector?: string): Obj[] {
    return [...this.objects[kind].values()].filter((o) => matches(o, selector));
  }

  /** Starts a Job from a CronJob's template, as the CronJob controller does at `at`. */
  triggerCronJob(namespace: string, name: string, at = new Date()): Obj {
    const cron = this.objects.cronjobs.get(`${namespace}/${name}`);
    if (!cron) throw new Error(`no CronJob ${namespace}/${name}`);
    const template = cron.spec.jobTemplate;
    const job: Obj = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { ...structuredClone(template.metadata ?? {}), name: `${name}-${Math.floor(at.getTime() / 60_000)}`, namespace, ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name, uid: cron.metadata.uid, controller: true }] },
      spec: structuredClone(template.spec),
    };
    return this.createObject("jobs", namespace, job);
  }

  // ---------------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const query = Object.fromEntries(url.searchParams.entries());
    const raw = await new Promise<string>((resolve) => {
      let data = "";
      req.on("data", (chunk) => (data += chunk));
      req.on("end", () => resolve(data));
    });
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return this.status(res, 400, "BadRequest", "request body is not JSON");
    }
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname, query, body });

    const sa = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(url.pathname);
    if (sa && method === "GET") {
      const [, ns, name] = sa;
      if (!this.serviceAccounts.has(`${ns}/${name}`)) return this.status(res, 404, "NotFound", `serviceaccounts "${name}" not found`, { name, kind: "serviceaccounts" });
      return this.json(res, 200, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
    }
    const route =
      /^\/api\/v1\/namespaces\/([^/]+)\/(pods)(?:\/([^/]+))?(?:\/(log))?$/.exec(url.pathname) ??
      /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/(jobs|cronjobs)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!route) return this.status(res, 404, "NotFound", `the server could not find the requested resource (${method} ${url.pathname})`);
    const [, ns, kindName, name, sub] = route as unknown as [string, string, Kind, string | undefined, string | undefined];
    const kind = kindName as Kind;
    const key = `${ns}/${name}`;

    if (sub === "log") return this.podLog(res, key, query);
    if (!name && method === "GET" && (query.watch === "true" || query.watch === "1")) return this.watch(res, kind, ns!, query);
    if (!name && method === "GET") {
      const items = [...this.objects[kind].values()].filter((o) => o.metadata.namespace === ns && matches(o, query.labelSelector));
      return this.json(res, 200, { apiVersion: KIND_META[kind].apiVersion, kind: `${KIND_META[kind].kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
    }
    if (!name && method === "POST") {
      if (kind === "pods" && !this.serviceAccounts.has(`${ns}/${body?.spec?.serviceAccountName ?? "default"}`)) {
        const account = body?.spec?.serviceAccountName ?? "default";
        return this.status(res, 403, "Forbidden", `pods "${body?.metadata?.name}" is forbidden: error looking up service account ${ns}/${account}: serviceaccount "${account}" not found`);
      }
      const invalid = this.validate(kind, body);
      if (invalid.length) {
        return this.status(res, 422, "Invalid", `${KIND_META[kind].kind}.${KIND_META[kind].apiVersion.split("/")[0]} "${body?.metadata?.name}" is invalid: ${invalid.map((c) => `${c.field}: ${c.message}`).join(", ")}`, {
          name: body?.metadata?.name,
          kind: kindName,
          causes: invalid.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })),
        });
      }
      if (this.objects[kind].has(`${ns}/${body.metadata.name}`)) {
        return this.status(res, 409, "AlreadyExists", `${KIND_META[kind].resource} "${body.metadata.name}" already exists`, { name: body.metadata.name, kind: kindName });
      }
      return this.json(res, 201, this.createObject(kind, ns!, body));
    }
    if (!name && method === "DELETE") {
      const doomed = [...this.objects[kind].values()].filter((o) => o.metadata.namespace === ns && matches(o, query.labelSelector));
      for (const object of doomed) this.deleteObject(kind, `${ns}/${object.metadata.name}`, body ?? {});
      return this.json(res, 200, { apiVersion: "v1", kind: "Status", metadata: {}, status: "Success" });
    }
    const existing = this.objects[kind].get(key);
    if (!existing) return this.status(res, 404, "NotFound", `${KIND_META[kind].resource} "${name}" not found`, { name, kind: kindName });
    if (method === "GET") return this.json(res, 200, existing);
    if (method === "DELETE") {
      this.deleteObject(kind, key, body ?? {});
      return this.json(res, 200, { apiVersion: "v1", kind: "Status", metadata: {}, status: "Success", details: { name, kind: kindName } });
    }
    return this.status(res, 405, "MethodNotAllowed", `${method} is not supported here`);
  }

  private validate(kind: Kind, body: any): { field: string; message: string }[] {
    const causes: { field: string; message: string }[] = [];
    const name = body?.metadata?.name;
    const max = kind === "cronjobs" ? 52 : 63;
    if (typeof name !== "string" || !DNS_LABEL.test(name)) causes.push({ field: "metadata.name", message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
    else if (name.length > max) causes.push({ field: "metadata.name", message: `Invalid value: "${name}": must be no more than ${max} characters` });
    const podSpec = kind === "pods" ? body?.spec : kind === "jobs" ? body?.spec?.template?.spec : body?.spec?.jobTemplate?.spec?.template?.spec;
    const prefix = kind === "pods" ? "spec" : kind === "jobs" ? "spec.template.spec" : "spec.jobTemplate.spec.template.spec";
    if (!Array.isArray(podSpec?.containers) || podSpec.containers.length === 0) causes.push({ field: `${prefix}.containers`, message: "Required value" });
    for (const [i, c] of (podSpec?.containers ?? []).entries()) if (!c?.image) causes.push({ field: `${prefix}.containers[${i}].image`, message: "Required value" });
    if (kind !== "pods" && !["Never", "OnFailure"].includes(podSpec?.restartPolicy)) causes.push({ field: `${prefix}.restartPolicy`, message: `Unsupported value: "${podSpec?.restartPolicy}"` });
    if (kind === "cronjobs" && typeof body?.spec?.schedule !== "string") causes.push({ field: "spec.schedule", message: "Required value" });
    return causes;
  }

  private createObject(kind: Kind, ns: string, body: any): Obj {
    const object: Obj = structuredClone(body);
    object.apiVersion = KIND_META[kind].apiVersion;
    object.kind = KIND_META[kind].kind;
    object.metadata = { ...object.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: new Date().toISOString(), generation: 1 };
    if (kind === "jobs") object.status = {};
    if (kind === "pods") object.status = { phase: "Pending" };
    this.objects[kind].set(`${ns}/${object.metadata.name}`, object);
    this.created.push(`${kind}/${object.metadata.name}`);
    this.emit(kind, "ADDED", object);
    if (kind === "jobs") this.jobStarted(object);
    if (kind === "pods") this.runPod(object);
    return object;
  }

  private update(kind: Kind, object: Obj): void {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    if (this.objects[kind].get(key) !== object) return; // deleted meanwhile
    this.emit(kind, "MODIFIED", object);
  }

  private deleteObject(kind: Kind, key: string, options: { propagationPolicy?: string; gracePeriodSeconds?: number }): void {
    const object = this.objects[kind].get(key);
    if (!object) return;
    this.objects[kind].delete(key);
    object.metadata.deletionTimestamp = new Date().toISOString();
    this.emit(kind, "DELETED", object);
    if (kind === "pods") this.stopProcess(key, options.gracePeriodSeconds);
    if (kind === "jobs" && options.propagationPolicy !== "Orphan") {
      for (const pod of this.list("pods")) {
        if (pod.metadata.namespace === object.metadata.namespace && pod.metadata.labels?.["job-name"] === object.metadata.name) {
          this.deleteObject("pods", `${pod.metadata.namespace}/${pod.metadata.name}`, options);
        }
      }
    }
  }

  private stopProcess(key: string, gracePeriodSeconds = 30): void {
    const child = this.processes.get(key);
    if (!child) return;
    child.kill("SIGTERM");
    // Like the kubelet: SIGKILL after the grace period (shortened for tests).
    const timer = setTimeout(() => child.kill("SIGKILL"), Math.min(gracePeriodSeconds, 5) * 1000);
    this.timers.add(timer);
    child.once("exit", () => clearTimeout(timer));
  }

  private emit(kind: Kind, type: WatchEvent["type"], object: Obj): void {
    this.rv++;
    object.metadata.resourceVersion = String(this.rv);
    const event: WatchEvent = { rv: this.rv, kind, type, object: structuredClone(object) };
    this.history.push(event);
    for (const watcher of this.watchers) this.send(watcher, event);
  }

  private send(watcher: Watcher, event: WatchEvent): void {
    if (event.kind !== watcher.kind || event.object.metadata.namespace !== watcher.namespace) return;
    if (!matches(event.object, watcher.selector)) return;
    if (watcher.fieldName && event.object.metadata.name !== watcher.fieldName) return;
    watcher.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }

  private watch(res: ServerResponse, kind: Kind, namespace: string, query: Record<string, string>): void {
    const fieldName = /^metadata\.name=(.+)$/.exec(query.fieldSelector ?? "")?.[1];
    const watcher: Watcher = { kind, namespace, selector: query.labelSelector, fieldName, res };
    res.writeHead(200, { "content-type": "application/json" });
    const from = query.resourceVersion ? Number(query.resourceVersion) : undefined;
    if (from !== undefined && from < this.compactedBelow) {
      res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${from} (${this.compactedBelow})`, reason: "Expired", code: 410 } })}\n`);
      return;
    }
    if (from === undefined) {
      for (const object of this.objects[kind].values()) this.send(watcher, { rv: this.rv, kind, type: "ADDED", object });
    } else {
      for (const event of this.history) if (event.rv > from) this.send(watcher, event);
    }
    this.watchers.add(watcher);
    let bookmarks: NodeJS.Timeout | undefined;
    if (query.allowWatchBookmarks === "true") {
      bookmarks = setInterval(() => {
        res.write(`${JSON.stringify({ type: "BOOKMARK", object: { kind: KIND_META[kind].kind, apiVersion: KIND_META[kind].apiVersion, metadata: { resourceVersion: String(this.rv) } } })}\n`);
      }, this.options.bookmarkIntervalMs ?? 1_000);
    }
    const cleanup = () => {
      clearInterval(bookmarks);
      this.watchers.delete(watcher);
    };
    res.on("close", cleanup);
    res.on("finish", cleanup);
  }

  private podLog(res: ServerResponse, key: string, query: Record<string, string>): void {
    const pod = this.objects.pods.get(key);
    if (!pod) return this.status(res, 404, "NotFound", `pods "${key.split("/")[1]}" not found`);
    const container = query.container ?? pod.spec.containers[0].name;
    if (!pod.spec.containers.some((c: any) => c.name === container)) return this.status(res, 400, "BadRequest", `container ${container} is not valid for pod ${pod.metadata.name}`);
    const log = this.logs.get(key);
    if (!log) return this.status(res, 400, "BadRequest", `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ContainerCreating`);
    res.writeHead(200, { "content-type": "text/plain" });
    res.write(log.text);
    if (query.follow !== "true" || log.ended) return void res.end();
    const listener = (chunk: string | null) => (chunk === null ? res.end() : res.write(chunk));
    log.listeners.add(listener);
    res.on("close", () => log.listeners.delete(listener));
  }

  // --- Job controller and kubelet --------------------------------------------------------------------

  private jobStarted(job: Obj): void {
    job.status = { active: 0, failed: 0, succeeded: 0, startTime: new Date().toISOString() };
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline) {
      const timer = setTimeout(() => {
        if (jobFinished(job)) return;
        this.finishJob(job, false, "DeadlineExceeded", "Job was active longer than specified deadline");
        for (const pod of this.podsOf(job)) this.stopProcess(`${pod.metadata.namespace}/${pod.metadata.name}`, 0);
      }, deadline * 1000);
      this.timers.add(timer);
    }
    this.createJobPod(job);
  }

  private podsOf(job: Obj): Obj[] {
    return this.list("pods").filter((p) => p.metadata.namespace === job.metadata.namespace && p.metadata.labels?.["job-name"] === job.metadata.name);
  }

  private createJobPod(job: Obj): void {
    const ns = job.metadata.namespace;
    const key = `${ns}/${job.metadata.name}`;
    if (this.objects.jobs.get(key) !== job || jobFinished(job)) return;
    const account = job.spec.template.spec.serviceAccountName ?? "default";
    if (!this.serviceAccounts.has(`${ns}/${account}`)) {
      // The real Job controller gets 403 creating the pod and retries (event FailedCreate).
      const timer = setTimeout(() => this.createJobPod(job), 100);
      this.timers.add(timer);
      return;
    }
    const template = job.spec.template;
    const pod: Obj = {
      metadata: {
        ...structuredClone(template.metadata ?? {}),
        name: `${job.metadata.name}-${randomBytes(3).toString("hex").slice(0, 5)}`,
        labels: { ...template.metadata?.labels, "job-name": job.metadata.name, "batch.kubernetes.io/job-name": job.metadata.name, "controller-uid": job.metadata.uid, "batch.kubernetes.io/controller-uid": job.metadata.uid },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, uid: job.metadata.uid, controller: true }],
      },
      spec: structuredClone(template.spec),
    };
    job.status.active = 1;
    this.update("jobs", job);
    this.createObject("pods", ns, pod);
  }

  private runPod(pod: Obj): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const container = pod.spec.containers[0];
    if (/does-not-exist/.test(container.image)) {
      pod.status.containerStatuses = [{ name: container.name, ready: false, restartCount: 0, image: container.image, imageID: "", state: { waiting: { reason: "ErrImagePull", message: `pull access denied for ${container.image}` } } }];
      const timer = setTimeout(() => this.update("pods", pod), 50);
      this.timers.add(timer);
      return;
    }
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", HOSTNAME: pod.metadata.name, ...this.options.podEnv };
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = expand(variable.value, env);
      else if (variable.valueFrom?.fieldRef) env[variable.name] = fieldRef(pod, variable.valueFrom.fieldRef.fieldPath);
    }
    const argv = [...(container.command ?? []), ...(container.args ?? [])].map((arg: string) => expand(arg, env));
    const log = { text: "", ended: false, listeners: new Set<(chunk: string | null) => void>() };
    this.logs.set(key, log);
    const child = spawn(argv[0]!, argv.slice(1), { cwd: container.workingDir, env, stdio: ["ignore", "pipe", "pipe"] });
    this.processes.set(key, child);
    const append = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      log.text += text;
      for (const listener of log.listeners) listener(text);
    };
    child.stdout!.on("data", append);
    child.stderr!.on("data", append);
    pod.status = { phase: "Running", startTime: new Date().toISOString(), containerStatuses: [{ name: container.name, ready: true, restartCount: 0, image: container.image, imageID: "", state: { running: { startedAt: new Date().toISOString() } } }] };
    this.update("pods", pod);
    let spawnError: Error | undefined;
    child.on("error", (error) => (spawnError = error));
    child.on("close", (code, signal) => {
      this.processes.delete(key);
      if (spawnError) append(Buffer.from(`${spawnError.message}\n`));
      const exitCode = code ?? (signal === "SIGKILL" ? 137 : signal === "SIGTERM" ? 143 : 128);
      log.ended = true;
      for (const listener of log.listeners) listener(null);
      pod.status = {
        ...pod.status,
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        containerStatuses: [{ name: container.name, ready: false, restartCount: 0, image: container.image, imageID: "", state: { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error", finishedAt: new Date().toISOString() } } }],
      };
      this.update("pods", pod);
      this.podEnded(pod, container.name, exitCode);
    });
  }

  private podEnded(pod: Obj, containerName: string, exitCode: number): void {
    const owner = pod.metadata.ownerReferences?.find((o: any) => o.kind === "Job");
    const job = owner && this.objects.jobs.get(`${pod.metadata.namespace}/${owner.name}`);
    if (!job || jobFinished(job)) return;
    job.status.active = 0;
    if (exitCode === 0) {
      job.status.succeeded = 1;
      return this.finishJob(job, true);
    }
    job.status.failed = (job.status.failed ?? 0) + 1;
    for (const [index, rule] of (job.spec.podFailurePolicy?.rules ?? []).entries()) {
      const codes = rule.onExitCodes;
      if (!codes || (codes.containerName && codes.containerName !== containerName)) continue;
      const hit = codes.operator === "In" ? codes.values.includes(exitCode) : !codes.values.includes(exitCode);
      if (!hit) continue;
      if (rule.action === "FailJob") {
        return this.finishJob(job, false, "PodFailurePolicy", `Container ${containerName} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${exitCode} matching FailJob rule at index ${index}`);
      }
      if (rule.action === "Ignore") job.status.failed--;
      break;
    }
    if (job.status.failed > (job.spec.backoffLimit ?? 6)) return this.finishJob(job, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    this.update("jobs", job);
    const timer = setTimeout(() => this.createJobPod(job), 100);
    this.timers.add(timer);
  }

  private finishJob(job: Obj, succeeded: boolean, reason?: string, message?: string): void {
    const now = new Date().toISOString();
    job.status.active = 0;
    job.status.conditions = succeeded
      ? [
          { type: "SuccessCriteriaMet", status: "True", lastTransitionTime: now },
          { type: "Complete", status: "True", lastTransitionTime: now },
        ]
      : [
          { type: "FailureTarget", status: "True", reason, message, lastTransitionTime: now },
          { type: "Failed", status: "True", reason, message, lastTransitionTime: now },
        ];
    if (succeeded) job.status.completionTime = now;
    this.update("jobs", job);
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
    this.json(res, code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code });
  }
}

function jobFinished(job: Obj): boolean {
  return (job.status?.conditions ?? []).some((c: any) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

/** Equality, inequality and existence requirements, comma-separated (what the plugin sends). */
export function matches(object: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels: Record<string, string> = object.metadata?.labels ?? {};
  return selector.split(",").every((part) => {
    const requirement = part.trim();
    if (!requirement) return true;
    const notEqual = /^([^!=]+)!=(.*)$/.exec(requirement);
    if (notEqual) return labels[notEqual[1]!.trim()] !== notEqual[2]!.trim();
    const equal = /^([^!=]+)==?(.*)$/.exec(requirement);
    if (equal) return labels[equal[1]!.trim()] === equal[2]!.trim();
    if (requirement.startsWith("!")) return !(requirement.slice(1) in labels);
    return requirement in labels;
  });
}

/** Kubernetes `$(VAR)` expansion in command, args and env values; `$$(VAR)` escapes. */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => (name === undefined ? "$(" : (env[name] ?? match)));
}

function fieldRef(pod: Obj, path: string): string {
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return pod.metadata.labels?.[label[1]!] ?? "";
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return pod.metadata.annotations?.[annotation[1]!] ?? "";
  if (path === "metadata.name") return pod.metadata.name;
  if (path === "metadata.namespace") return pod.metadata.namespace;
  if (path === "metadata.uid") return pod.metadata.uid;
  return "";
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  return new FakeApiServer(options).start();
}
