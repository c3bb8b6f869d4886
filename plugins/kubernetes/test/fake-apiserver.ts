/**
 * A loopback Kubernetes API server for tests: the API paths the plugin uses, with a real server's
 * behaviour (resourceVersions, list + watch with bookmarks and 410 Gone, 404/409/422 Status bodies,
 * DeleteOptions read from the request body, bearer-token authentication, 403 for pods before the
 * namespace's service account exists, garbage collection through ownerReferences) and a tiny Job
 * controller, scheduler and kubelet: each Job gets a pod whose container command runs as a local
 * child process; the pod's phase follows the process's exit code and its logs are the process's output.
 *
 * Where the plugin's bugs hid, it behaves like the real thing:
 * - graceful deletion: a deleted (or evicted) running pod gets a deletionTimestamp, its process gets
 *   SIGTERM, then SIGKILL after the grace period, and only then is the pod removed;
 * - evictions add the `DisruptionTarget` condition; `podFailurePolicy` rules match `onExitCodes` and
 *   `onPodConditions` in order (FailJob / Ignore / Count);
 * - the Job controller replaces a failed pod only after a back-off of 10 s × 2^(failures-1), capped at
 *   6 minutes, and never before the old pod has terminated;
 * - a container over its memory limit is OOM-killed (exit 137, reason `OOMKilled`);
 * - pods stay Pending (PodScheduled=False, Unschedulable) while no node matches their nodeSelector or a
 *   PersistentVolumeClaim they mount is missing or not Bound;
 * - env from Secrets (`secretKeyRef`, `envFrom`): a missing Secret is CreateContainerConfigError;
 * - with `inCluster`, pods get in-cluster credentials as the kubelet gives them: a service-account token
 *   file, `ca.crt` and `namespace` (under $ORCH_KUBERNETES_SERVICE_ACCOUNT_PREFIX, since the pods run on
 *   this machine) and KUBERNETES_SERVICE_HOST/PORT of an HTTPS listener with its own CA — no KUBECONFIG.
 *
 * Time: the Job controller's back-off is multiplied by `timeScale` (default $FAKE_KUBE_TIME_SCALE, else
 * 1), so tests keep the behaviour but not the wait. Grace periods are real: they only bound how long a
 * process may take to shut down, and one that exits at once never waits for them.
 *
 * Differences from a real cluster (documented in the README): no images (the command must be runnable
 * on this machine: tests use `node --import tsx <file.ts>` with absolute paths), no volumes (every "pod"
 * sees this machine's files), one container per pod.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Obj = Record<string, any> & { metadata: Record<string, any> };
type Kind = "jobs" | "pods" | "cronjobs" | "secrets" | "persistentvolumeclaims";

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

export interface FakeNode {
  name: string;
  labels: Record<string, string>;
}

export interface FakeApiServerOptions {
  /** Environment every pod process gets (the kubelet's injected variables). */
  podEnv?: Record<string, string>;
  /** Namespaces whose `default` service account exists from the start (default: ["default"]). */
  serviceAccounts?: string[];
  /** Interval of BOOKMARK events on watches that allow them (ms). */
  bookmarkIntervalMs?: number;
  /** The cluster's nodes (default: one node, `node-1`, with the well-known labels). */
  nodes?: FakeNode[];
  /** Multiplies the Job controller's back-off delays; default $FAKE_KUBE_TIME_SCALE or 1. */
  timeScale?: number;
  /** Give pods in-cluster credentials (token file + KUBERNETES_SERVICE_HOST/PORT over HTTPS) instead of nothing. */
  inCluster?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  /** The bearer token the request carried (which credentials the caller used). */
  token: string | undefined;
}

const KIND_META: Record<Kind, { kind: string; apiVersion: string; resource: string }> = {
  jobs: { kind: "Job", apiVersion: "batch/v1", resource: "jobs.batch" },
  pods: { kind: "Pod", apiVersion: "v1", resource: "pods" },
  cronjobs: { kind: "CronJob", apiVersion: "batch/v1", resource: "cronjobs.batch" },
  secrets: { kind: "Secret", apiVersion: "v1", resource: "secrets" },
  persistentvolumeclaims: { kind: "PersistentVolumeClaim", apiVersion: "v1", resource: "persistentvolumeclaims" },
};
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** The token of the kubeconfig this server hands out (the test's own "user"). */
const USER_TOKEN = "fake-token";
/** Real Job controller back-off: 10 s, doubled per failure, at most 6 minutes. */
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 360_000;

export class FakeApiServer {
  readonly objects: Record<Kind, Map<string, Obj>> = { jobs: new Map(), pods: new Map(), cronjobs: new Map(), secrets: new Map(), persistentvolumeclaims: new Map() };
  readonly serviceAccounts = new Set<string>();
  readonly nodes: FakeNode[];
  readonly requests: RecordedRequest[] = [];
  /** Names of objects created, in order (kind/name), including pods created by the Job controller. */
  readonly created: string[] = [];
  /** When each object was created, in milliseconds (kind/name → ms); creationTimestamp itself has whole seconds, as in Kubernetes. */
  readonly createdAtMs = new Map<string, number>();
  readonly timeScale: number;
  /** Every container that ended, in order: pod name, exit code and termination reason. */
  readonly terminated: { pod: string; exitCode: number; reason: string }[] = [];
  private closed = false;
  private rv = 100;
  private compactedBelow = 0;
  private history: WatchEvent[] = [];
  private watchers = new Set<Watcher>();
  private processes = new Map<string, ChildProcess>();
  private logs = new Map<string, { text: string; ended: boolean; listeners: Set<(chunk: string | null) => void> }>();
  /** Pods waiting for the scheduler (no node, unbound claim) or for a Secret (CreateContainerConfigError). */
  private waiting = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();
  private tokens = new Map<string, string>([[USER_TOKEN, "user"]]);
  private server!: Server;
  private tlsServer: Server | undefined;
  private stateDir = mkdtempSync(join(tmpdir(), "fake-kube-"));
  private caFile = "";
  url = "";
  /** The HTTPS port pods reach through KUBERNETES_SERVICE_HOST/PORT (with inCluster). */
  inClusterPort = 0;

  constructor(private readonly options: FakeApiServerOptions = {}) {
    for (const ns of options.serviceAccounts ?? ["default"]) this.serviceAccounts.add(`${ns}/default`);
    this.nodes = options.nodes ?? [{ name: "node-1", labels: { "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux" } }];
    this.timeScale = options.timeScale ?? Number(process.env.FAKE_KUBE_TIME_SCALE ?? 1);
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res).catch((error) => this.status(res, 500, "InternalError", String(error?.stack ?? error)));
    this.server = createServer(handler);
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    if (this.options.inCluster) {
      // The in-cluster endpoint is HTTPS with a CA of its own, as kubernetes.default.svc is.
      const key = join(this.stateDir, "tls.key");
      this.caFile = join(this.stateDir, "ca.crt");
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", this.caFile, "-days", "1", "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      this.tlsServer = createHttpsServer({ key: readFileSync(key), cert: readFileSync(this.caFile) }, handler);
      await new Promise<void>((resolve) => this.tlsServer!.listen(0, "127.0.0.1", resolve));
      this.inClusterPort = (this.tlsServer.address() as AddressInfo).port;
    }
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const child of this.processes.values()) child.kill("SIGKILL");
    for (const watcher of this.watchers) watcher.res.end();
    this.watchers.clear();
    for (const server of [this.server, this.tlsServer]) {
      if (!server) continue;
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** A kubeconfig (YAML) whose only context points at this server. */
  kubeconfig(namespace = "default"): string {
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      "users:",
      `- name: tester\n  user:\n    token: ${USER_TOKEN}`,
      "contexts:",
      `- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: ${namespace}`,
      "current-context: fake",
      "",
    ].join("\n");
  }

  addServiceAccount(namespace: string, name = "default"): void {
    this.serviceAccounts.add(`${namespace}/${name}`);
  }

  /** Adds a node; pods waiting for one that matches are scheduled. */
  addNode(node: FakeNode): void {
    this.nodes.push(node);
    this.retryWaiting();
  }

  /** Creates a PersistentVolumeClaim (Bound unless told otherwise), as an admin or a provisioner would. */
  addPersistentVolumeClaim(namespace: string, name: string, phase: "Bound" | "Pending" = "Bound"): Obj {
    const claim = this.createObject("persistentvolumeclaims", namespace, { metadata: { name }, spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } } });
    if (phase === "Bound") this.bindClaim(namespace, name);
    return claim;
  }

  /** Binds a claim to a volume (what the PV controller does); pods waiting for it are scheduled. */
  bindClaim(namespace: string, name: string): void {
    const claim = this.objects.persistentvolumeclaims.get(`${namespace}/${name}`);
    if (!claim) throw new Error(`no PersistentVolumeClaim ${namespace}/${name}`);
    claim.status = { phase: "Bound", accessModes: claim.spec.accessModes, capacity: claim.spec.resources.requests };
    claim.spec.volumeName = `pv-${name}`;
    this.update("persistentvolumeclaims", claim);
    this.retryWaiting();
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

  /** Kills a pod's process as a node crash would (the pod fails; its Job may replace it). */
  killPodProcess(podName: string, signal: NodeJS.Signals = "SIGKILL"): void {
    for (const [key, child] of this.processes) if (key.endsWith(`/${podName}`)) child.kill(signal);
  }

  /** `kubectl delete pod`: graceful deletion (deletionTimestamp, SIGTERM, SIGKILL after the grace period, removal). */
  deletePod(namespace: string, name: string, gracePeriodSeconds?: number): void {
    this.deleteObject("pods", `${namespace}/${name}`, gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds });
  }

  /** An eviction (node drain, preemption, the Eviction API): DisruptionTarget=True, then graceful deletion. */
  evictPod(namespace: string, name: string, reason = "EvictionByEvictionAPI"): void {
    const pod = this.objects.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    pod.status.conditions = [...(pod.status.conditions ?? []).filter((c: any) => c.type !== "DisruptionTarget"), { type: "DisruptionTarget", status: "True", reason, message: "Eviction API: evicting", lastTransitionTime: new Date().toISOString() }];
    this.update("pods", pod);
    this.deleteObject("pods", `${namespace}/${name}`, {});
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
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    this.requests.push({ method, path: url.pathname, query, body, token });
    if (!token || !this.tokens.has(token)) return this.status(res, 401, "Unauthorized", "Unauthorized");

    const sa = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(url.pathname);
    if (sa && method === "GET") {
      const [, ns, name] = sa;
      if (!this.serviceAccounts.has(`${ns}/${name}`)) return this.status(res, 404, "NotFound", `serviceaccounts "${name}" not found`, { name, kind: "serviceaccounts" });
      return this.json(res, 200, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
    }
    const route =
      /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets|persistentvolumeclaims)(?:\/([^/]+))?(?:\/(log|eviction))?$/.exec(url.pathname) ??
      /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/(jobs|cronjobs)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!route) return this.status(res, 404, "NotFound", `the server could not find the requested resource (${method} ${url.pathname})`);
    const [, ns, kindName, name, sub] = route as unknown as [string, string, Kind, string | undefined, string | undefined];
    const kind = kindName as Kind;
    const key = `${ns}/${name}`;

    if (sub === "log") return this.podLog(res, key, query);
    if (sub === "eviction" && method === "POST") {
      if (!this.objects.pods.has(key)) return this.status(res, 404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" });
      this.evictPod(ns!, name!);
      return this.json(res, 201, { apiVersion: "v1", kind: "Status", metadata: {}, status: "Success" });
    }
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
      if (invalid.length) return this.invalid(res, kind, body, invalid);
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
    if (method === "PUT" && kind === "secrets") {
      if (body?.metadata?.name !== name) return this.status(res, 400, "BadRequest", "the name of the object does not match the name on the URL");
      if (body.metadata.resourceVersion && body.metadata.resourceVersion !== existing.metadata.resourceVersion) {
        return this.status(res, 409, "Conflict", `Operation cannot be fulfilled on secrets "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const invalid = this.validate(kind, body);
      if (invalid.length) return this.invalid(res, kind, body, invalid);
      const replaced: Obj = { ...normalizeSecret(structuredClone(body)), apiVersion: "v1", kind: "Secret" };
      replaced.metadata = { ...replaced.metadata, namespace: ns, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp };
      this.objects.secrets.set(key, replaced);
      this.emit("secrets", "MODIFIED", replaced);
      return this.json(res, 200, replaced);
    }
    if (method === "DELETE") {
      this.deleteObject(kind, key, body ?? {});
      return this.json(res, 200, { apiVersion: "v1", kind: "Status", metadata: {}, status: "Success", details: { name, kind: kindName } });
    }
    return this.status(res, 405, "MethodNotAllowed", `${method} is not supported here`);
  }

  private invalid(res: ServerResponse, kind: Kind, body: any, invalid: { field: string; message: string }[]): void {
    const group = KIND_META[kind].apiVersion.includes("/") ? `.${KIND_META[kind].apiVersion.split("/")[0]}` : "";
    return this.status(res, 422, "Invalid", `${KIND_META[kind].kind}${group} "${body?.metadata?.name}" is invalid: ${invalid.map((c) => `${c.field}: ${c.message}`).join(", ")}`, {
      name: body?.metadata?.name,
      kind,
      causes: invalid.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })),
    });
  }

  private validate(kind: Kind, body: any): { field: string; message: string }[] {
    const causes: { field: string; message: string }[] = [];
    const name = body?.metadata?.name;
    if (kind === "secrets" || kind === "persistentvolumeclaims") {
      if (typeof name !== "string" || !DNS_SUBDOMAIN.test(name) || name.length > 253) causes.push({ field: "metadata.name", message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
      for (const [field, values] of [["data", body?.data], ["stringData", body?.stringData]] as const) {
        for (const [k, v] of Object.entries(values ?? {})) {
          if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push({ field: `${field}[${k}]`, message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
          if (field === "data" && (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))) causes.push({ field: `data[${k}]`, message: "Invalid value: illegal base64 data" });
        }
      }
      return causes;
    }
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
    const object: Obj = kind === "secrets" ? normalizeSecret(structuredClone(body)) : structuredClone(body);
    object.apiVersion = KIND_META[kind].apiVersion;
    object.kind = KIND_META[kind].kind;
    const now = new Date();
    // metav1.Time serializes RFC 3339 with whole seconds: a crash and its replacement often share one.
    object.metadata = { ...object.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z"), generation: 1 };
    if (kind === "jobs") object.status = {};
    if (kind === "pods") object.status = { phase: "Pending" };
    if (kind === "persistentvolumeclaims") object.status = { phase: "Pending" };
    this.objects[kind].set(`${ns}/${object.metadata.name}`, object);
    this.created.push(`${kind}/${object.metadata.name}`);
    this.createdAtMs.set(`${kind}/${object.metadata.name}`, now.getTime());
    this.emit(kind, "ADDED", object);
    if (kind === "jobs") this.jobStarted(object);
    if (kind === "pods") this.runPod(object);
    if (kind === "secrets" || kind === "persistentvolumeclaims") this.retryWaiting();
    return object;
  }

  private update(kind: Kind, object: Obj): void {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    if (this.objects[kind].get(key) !== object) return; // deleted meanwhile
    this.emit(kind, "MODIFIED", object);
  }

  private remove(kind: Kind, key: string): void {
    const object = this.objects[kind].get(key);
    if (!object) return;
    this.objects[kind].delete(key);
    this.waiting.delete(`${kind}/${key}`);
    object.metadata.deletionTimestamp ??= new Date().toISOString();
    this.emit(kind, "DELETED", object);
  }

  private deleteObject(kind: Kind, key: string, options: { propagationPolicy?: string; gracePeriodSeconds?: number }): void {
    const object = this.objects[kind].get(key);
    if (!object) return;
    if (kind === "pods" && this.processes.has(key)) {
      // Graceful deletion: the pod stays (terminating) until its process has ended.
      if (object.metadata.deletionTimestamp) return;
      const grace = options.gracePeriodSeconds ?? object.spec.terminationGracePeriodSeconds ?? 30;
      object.metadata.deletionTimestamp = new Date().toISOString();
      object.metadata.deletionGracePeriodSeconds = grace;
      this.update("pods", object);
      this.stopProcess(key, grace);
    } else {
      this.remove(kind, key);
    }
    if (options.propagationPolicy === "Orphan") return;
    // The garbage collector: dependents whose owner is gone are deleted too (Background propagation).
    const uid = object.metadata.uid;
    for (const dependentKind of Object.keys(this.objects) as Kind[]) {
      for (const [dependentKey, dependent] of this.objects[dependentKind]) {
        if (dependent.metadata.ownerReferences?.some((o: any) => o.uid === uid)) this.deleteObject(dependentKind, dependentKey, { gracePeriodSeconds: options.gracePeriodSeconds });
      }
    }
  }

  private stopProcess(key: string, gracePeriodSeconds: number): void {
    const child = this.processes.get(key);
    if (!child) return;
    child.kill("SIGTERM");
    // Like the kubelet: SIGKILL after the grace period. Not scaled: it only bounds how long a process
    // may take to shut down (one that exits at once never waits), and a real process needs real time.
    const timer = setTimeout(() => child.kill("SIGKILL"), gracePeriodSeconds * 1000);
    this.timers.add(timer);
    child.once("exit", () => clearTimeout(timer));
  }

  private scaled(ms: number): number {
    return Math.round(ms * this.timeScale);
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) action();
    }, ms);
    this.timers.add(timer);
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
        // A dropped watch is ended before its "finish" event clears this timer.
        if (res.writableEnded || res.destroyed) return clearInterval(bookmarks);
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

  // --- Job controller, scheduler and kubelet ---------------------------------------------------------

  private jobStarted(job: Obj): void {
    job.status = { active: 0, failed: 0, succeeded: 0, startTime: new Date().toISOString() };
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline) {
      this.later(deadline * 1000, () => {
        if (jobFinished(job) || this.objects.jobs.get(`${job.metadata.namespace}/${job.metadata.name}`) !== job) return;
        this.finishJob(job, false, "DeadlineExceeded", "Job was active longer than specified deadline");
        for (const pod of this.podsOf(job)) this.deleteObject("pods", `${pod.metadata.namespace}/${pod.metadata.name}`, { gracePeriodSeconds: 0 });
      });
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
      this.later(100, () => this.createJobPod(job));
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

  private retryWaiting(): void {
    for (const entry of [...this.waiting]) {
      this.waiting.delete(entry);
      const pod = this.objects.pods.get(entry.slice("pods/".length));
      if (pod && !this.processes.has(entry.slice("pods/".length))) this.runPod(pod);
    }
  }

  /** Why no node can take the pod (the scheduler's message), or undefined when one can. */
  private unschedulable(pod: Obj): string | undefined {
    const ns = pod.metadata.namespace;
    for (const volume of pod.spec.volumes ?? []) {
      const claimName = volume.persistentVolumeClaim?.claimName;
      if (!claimName) continue;
      const claim = this.objects.persistentvolumeclaims.get(`${ns}/${claimName}`);
      if (!claim) return `0/${this.nodes.length} nodes are available: persistentvolumeclaim "${claimName}" not found. preemption: 0/${this.nodes.length} nodes are available: ${this.nodes.length} Preemption is not helpful for scheduling.`;
      if (claim.status?.phase !== "Bound") return `0/${this.nodes.length} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/${this.nodes.length} nodes are available: ${this.nodes.length} Preemption is not helpful for scheduling.`;
    }
    const selector: Record<string, string> = pod.spec.nodeSelector ?? {};
    const fits = this.nodes.filter((node) => Object.entries(selector).every(([k, v]) => node.labels[k] === v));
    if (fits.length === 0) {
      return `0/${this.nodes.length} nodes are available: ${this.nodes.length} node(s) didn't match Pod's node affinity/selector. preemption: 0/${this.nodes.length} nodes are available: ${this.nodes.length} Preemption is not helpful for scheduling.`;
    }
    pod.spec.nodeName = fits[0]!.name;
    return undefined;
  }

  /** The container's environment as the kubelet builds it; a missing Secret makes it undefined (CreateContainerConfigError). */
  private containerEnv(pod: Obj, container: any): { env?: Record<string, string>; error?: string } {
    const ns = pod.metadata.namespace;
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", HOSTNAME: pod.metadata.name, ...this.options.podEnv };
    if (this.options.inCluster && pod.spec.automountServiceAccountToken !== false) Object.assign(env, this.inClusterCredentials(pod));
    const secretValue = (name: string, key?: string): Record<string, string> | string | undefined => {
      const secret = this.objects.secrets.get(`${ns}/${name}`);
      if (!secret) return undefined;
      const data: Record<string, string> = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString("utf8")]));
      return key === undefined ? data : data[key];
    };
    for (const source of container.envFrom ?? []) {
      const name = source.secretRef?.name;
      if (!name) continue;
      const data = secretValue(name);
      if (data === undefined) {
        if (source.secretRef.optional) continue;
        return { error: `secret "${name}" not found` };
      }
      Object.assign(env, data);
    }
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = expand(variable.value, env);
      else if (variable.valueFrom?.fieldRef) env[variable.name] = fieldRef(pod, variable.valueFrom.fieldRef.fieldPath);
      else if (variable.valueFrom?.secretKeyRef) {
        const { name, key, optional } = variable.valueFrom.secretKeyRef;
        const value = secretValue(name, key);
        if (value === undefined) {
          if (optional) continue;
          return { error: this.objects.secrets.has(`${ns}/${name}`) ? `couldn't find key ${key} in Secret ${ns}/${name}` : `secret "${name}" not found` };
        }
        env[variable.name] = value as string;
      }
    }
    return { env };
  }

  /** What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount, plus the service's address. */
  private inClusterCredentials(pod: Obj): Record<string, string> {
    const root = join(this.stateDir, "pods", pod.metadata.name);
    const dir = join(root, "var/run/secrets/kubernetes.io/serviceaccount");
    mkdirSync(dir, { recursive: true });
    const token = `sa-${pod.spec.serviceAccountName ?? "default"}-${randomBytes(8).toString("hex")}`;
    this.tokens.set(token, `system:serviceaccount:${pod.metadata.namespace}:${pod.spec.serviceAccountName ?? "default"}`);
    writeFileSync(join(dir, "token"), token);
    writeFileSync(join(dir, "namespace"), pod.metadata.namespace);
    writeFileSync(join(dir, "ca.crt"), readFileSync(this.caFile));
    return { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(this.inClusterPort), ORCH_KUBERNETES_SERVICE_ACCOUNT_PREFIX: root };
  }

  private runPod(pod: Obj): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (pod.metadata.deletionTimestamp || this.closed) return;
    const container = pod.spec.containers[0];
    if (!pod.spec.nodeName) {
      const why = this.unschedulable(pod);
      if (why) {
        pod.status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: why, lastTransitionTime: new Date().toISOString() }] };
        this.waiting.add(`pods/${key}`);
        return this.update("pods", pod);
      }
      pod.status = { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: new Date().toISOString() }] };
    }
    const waitingStatus = (reason: string, message: string) => [{ name: container.name, ready: false, restartCount: 0, image: container.image, imageID: "", state: { waiting: { reason, message } } }];
    if (/does-not-exist/.test(container.image)) {
      pod.status.containerStatuses = waitingStatus("ErrImagePull", `pull access denied for ${container.image}`);
      this.later(50, () => this.update("pods", pod));
      return;
    }
    const { env, error } = this.containerEnv(pod, container);
    if (!env) {
      pod.status.containerStatuses = waitingStatus("CreateContainerConfigError", error!);
      this.waiting.add(`pods/${key}`); // the kubelet retries; a Secret created later lets it start
      return this.update("pods", pod);
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
    pod.status = { ...pod.status, phase: "Running", startTime: new Date().toISOString(), containerStatuses: [{ name: container.name, ready: true, restartCount: 0, image: container.image, imageID: "", state: { running: { startedAt: new Date().toISOString() } } }] };
    this.update("pods", pod);
    // The memory cgroup: a container over its limit is killed by the kernel (OOMKilled).
    const limit = parseQuantity(container.resources?.limits?.memory);
    let oomKilled = false;
    const memoryWatch =
      limit === undefined
        ? undefined
        : setInterval(() => {
            if (child.pid !== undefined && residentBytes(child.pid) > limit) {
              oomKilled = true;
              child.kill("SIGKILL");
            }
          }, 25);
    let spawnError: Error | undefined;
    child.on("error", (error) => (spawnError = error));
    child.on("close", (code, signal) => {
      clearInterval(memoryWatch);
      this.processes.delete(key);
      if (spawnError) append(Buffer.from(`${spawnError.message}\n`));
      const exitCode = code ?? (signal === "SIGKILL" ? 137 : signal === "SIGTERM" ? 143 : 128);
      log.ended = true;
      for (const listener of log.listeners) listener(null);
      pod.status = {
        ...pod.status,
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        containerStatuses: [{ name: container.name, ready: false, restartCount: 0, image: container.image, imageID: "", state: { terminated: { exitCode, reason: oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error", finishedAt: new Date().toISOString() } } }],
      };
      this.terminated.push({ pod: pod.metadata.name, exitCode, reason: pod.status.containerStatuses[0].state.terminated.reason });
      this.update("pods", pod);
      this.podEnded(pod, container.name, exitCode);
      // A terminating pod is removed once its container has ended.
      if (pod.metadata.deletionTimestamp) this.remove("pods", key);
    });
  }

  private podEnded(pod: Obj, containerName: string, exitCode: number): void {
    const owner = pod.metadata.ownerReferences?.find((o: any) => o.kind === "Job");
    const job = owner && this.objects.jobs.get(`${pod.metadata.namespace}/${owner.name}`);
    if (!job || job.metadata.uid !== owner.uid || jobFinished(job)) return;
    job.status.active = 0;
    if (exitCode === 0) {
      job.status.succeeded = 1;
      return this.finishJob(job, true);
    }
    let action = "Count";
    for (const [index, rule] of (job.spec.podFailurePolicy?.rules ?? []).entries()) {
      let hit = false;
      let what = "";
      const codes = rule.onExitCodes;
      if (codes && (!codes.containerName || codes.containerName === containerName)) {
        hit = codes.operator === "In" ? codes.values.includes(exitCode) : !codes.values.includes(exitCode);
        what = `Container ${containerName} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${exitCode} matching ${rule.action} rule at index ${index}`;
      }
      for (const wanted of rule.onPodConditions ?? []) {
        const condition = (pod.status.conditions ?? []).find((c: any) => c.type === wanted.type && c.status === (wanted.status ?? "True"));
        if (condition) {
          hit = true;
          what = `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${wanted.type} matching ${rule.action} rule at index ${index}`;
        }
      }
      if (!hit) continue;
      if (rule.action === "FailJob") return this.finishJob(job, false, "PodFailurePolicy", what);
      action = rule.action;
      break;
    }
    if (action === "Ignore") {
      // Not counted against backoffLimit, and replaced without back-off.
      this.update("jobs", job);
      return this.later(0, () => this.createJobPod(job));
    }
    job.status.failed = (job.status.failed ?? 0) + 1;
    if (job.status.failed > (job.spec.backoffLimit ?? 6)) return this.finishJob(job, false, "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    this.update("jobs", job);
    const backoff = Math.min(BACKOFF_BASE_MS * 2 ** (job.status.failed - 1), BACKOFF_MAX_MS);
    this.later(this.scaled(backoff), () => this.createJobPod(job));
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

/** `stringData` is write-only: the API server folds it into `data` (base64). */
function normalizeSecret(secret: Obj): Obj {
  const data: Record<string, string> = { ...(secret.data ?? {}) };
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = Buffer.from(String(value), "utf8").toString("base64");
  delete secret.stringData;
  return { ...secret, type: secret.type ?? "Opaque", data };
}

/** A memory quantity (`256Mi`, `1G`, `1048576`) in bytes. */
function parseQuantity(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (!match) return undefined;
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * (match[2] ? units[match[2]]! : 1);
}

/** Resident memory of a process (Linux /proc); 0 when it cannot be read. */
function residentBytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
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
  if (path === "spec.nodeName") return pod.spec.nodeName ?? "";
  return "";
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  return new FakeApiServer(options).start();
}
