import { resolve } from "node:path";
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import {
  FINISHED_STEP_STATUSES,
  OrchError,
  clearStopRequest,
  isOrchError,
  journalKeys,
  requestRunStop,
  readRunRecord,
  readStepRecord,
  readStepRecords,
  serializeSnapshot,
  writeRunRecord,
  writeStepRecord,
  type LaunchRequest,
  type LaunchResult,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  type Schedule,
  type Snapshot,
  type StepRecord,
} from "@orch/core";
import type { KubernetesOrchestratorConfig } from "./index.js";
import {
  ANNOTATIONS,
  LABELS,
  ORCHESTRATOR_CONTAINER,
  STEP_CONTAINER,
  configSecret,
  cronJob,
  cronJobName,
  labelValue,
  orchestratorJob,
  orchestratorJobName,
  podArtifactStore,
  runSecretName,
  scheduleSecretName,
  scheduleSnapshotKey,
  scheduledRunId,
  stepJob,
  stepJobName,
  type K8sObject,
  type ManifestInput,
} from "./manifests.js";
import { assertValidManifest } from "./validate.js";
import { ResourceTracker, type KubeObject } from "./watch.js";

/** Stands in for the image in compiled manifests when it is built at submit (config key build). */
const IMAGE_BUILT_AT_SUBMIT = "orch-project-image:built-at-submit";

/** Container waiting reasons that will not fix themselves: the step fails at once instead of hanging. */
const FATAL_WAITING_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull"]);

interface JobLike extends KubeObject {
  status?: { active?: number; succeeded?: number; failed?: number; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  spec?: { template?: { metadata?: { labels?: Record<string, string> } } };
}
interface PodLike extends KubeObject {
  spec?: { containers?: { name: string; resources?: { limits?: Record<string, string> } }[] };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string }; terminated?: { exitCode?: number; reason?: string } } }[];
  };
}

const isPodOfJob = (pod: PodLike, jobName: string) => pod.metadata?.labels?.["batch.kubernetes.io/job-name"] === jobName || pod.metadata?.labels?.["job-name"] === jobName;
const createdAt = (pod: PodLike) => {
  const stamp = pod.metadata?.creationTimestamp;
  return stamp instanceof Date ? stamp.getTime() : Date.parse(String(stamp ?? "")) || 0;
};
/**
 * Attempt order. creationTimestamp has one-second resolution, so a crash and the Job controller's
 * replacement often share it; a Job runs one pod at a time, so within a second an ended (Failed) pod
 * came before the one that replaced it. The name is only the last resort (its suffix is random).
 */
const byCreation = (a: PodLike, b: PodLike) =>
  createdAt(a) - createdAt(b) ||
  Number(b.status?.phase === "Failed") - Number(a.status?.phase === "Failed") ||
  String(a.metadata?.name).localeCompare(String(b.metadata?.name));
const terminatedState = (pod: PodLike, container: string) => pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.terminated;

/**
 * Why a step's last pod ended, in the user's words: an OOM kill names the memory limit (as local_docker
 * does), other exits their code and reason. Undefined when the pod did not end by itself.
 */
export function podFailure(pod: PodLike | undefined): string | undefined {
  const ended = pod && terminatedState(pod, STEP_CONTAINER);
  if (!pod || !ended || ended.exitCode === 0) return undefined;
  if (ended.reason === "OOMKilled") {
    const limit = pod.spec?.containers?.find((c) => c.name === STEP_CONTAINER)?.resources?.limits?.memory;
    return `out of memory (limit ${limit ?? "none set"}): the step's container was OOM-killed (exit code ${ended.exitCode ?? 137}) in pod ${pod.metadata?.name}`;
  }
  const disrupted = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  return `pod ${pod.metadata?.name} ended with exit code ${ended.exitCode}${ended.reason && ended.reason !== "Error" ? ` (${ended.reason})` : ""}${disrupted ? ` after ${disrupted.reason ?? "a disruption"}` : ""}`;
}

/** A finished Job's outcome from its conditions, or undefined while it runs. */
export function jobOutcome(job: JobLike): { succeeded: boolean; reason?: string } | undefined {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== "True") continue;
    if (condition.type === "Complete") return { succeeded: true };
    if (condition.type === "Failed") return { succeeded: false, reason: [condition.reason, condition.message].filter(Boolean).join(": ") || "Failed" };
  }
  return undefined;
}

function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "number" ? code : (error as { statusCode?: number })?.statusCode;
}

function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown })?.body;
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  if (body && typeof body === "object" && "message" in body) return String((body as { message: unknown }).message);
  return (error as Error)?.message ?? String(error);
}

/** The API server refuses pods until the namespace's service account exists (right after namespace creation). */
function isMissingServiceAccount(error: unknown): boolean {
  return apiStatus(error) === 403 && /service ?account/i.test(apiMessage(error)) && /not found/i.test(apiMessage(error));
}

/** No answer at all (refused, unresolvable, timed out, TLS failure), or the server says it cannot serve now. */
function isUnreachable(error: unknown): boolean {
  const status = apiStatus(error);
  if (status !== undefined) return status === 502 || status === 503 || status === 504;
  const codes = [error, (error as { cause?: unknown })?.cause].map((e) => String((e as { code?: unknown })?.code ?? ""));
  return codes.some((code) => /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR_|ERR_TLS|DEPTH_ZERO|SELF_SIGNED|CERT_)/.test(code)) || /fetch failed|socket hang up|ECONNREFUSED/i.test(String((error as Error)?.message));
}

function kubernetesError(action: string, error: unknown, config: KubernetesOrchestratorConfig): OrchError {
  if (isOrchError(error)) return error;
  const status = apiStatus(error);
  if (isUnreachable(error)) {
    return new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: "kubernetes",
      message: `Kubernetes ${action} failed: the API server is unreachable${status ? ` (HTTP ${status})` : ""}: ${apiMessage(error)}`,
      hint: `Check that the cluster is up and reachable with these credentials (kubectl${config.kubernetesContext ? ` --context ${config.kubernetesContext}` : ""} get pods -n ${config.kubernetesNamespace}).`,
      cause: error,
    });
  }
  const hints: Record<number, string> = {
    401: "Check the credentials of the kubeconfig context (kubectl auth whoami).",
    403: `Give the service account permission to manage jobs, cronjobs and pods in namespace ${config.kubernetesNamespace} (see the plugin README, Auth).`,
    404: `Check that namespace ${config.kubernetesNamespace} exists.`,
    422: "The API server rejected the object; check the pod settings named in the message.",
  };
  return new OrchError("E_CONFIG_INVALID", {
    flavor: "kubernetes",
    message: `Kubernetes ${action} failed${status ? ` (HTTP ${status})` : ""}: ${apiMessage(error)}`,
    hint: (status ? hints[status] : undefined) ?? "Check that the cluster is reachable with this kubeconfig (kubectl get pods).",
    cause: error,
  });
}

/** Loads credentials: an explicit kubeconfig, else in-cluster (unless $KUBECONFIG is set), else $KUBECONFIG / ~/.kube/config. */
export function loadKubeConfig(config: KubernetesOrchestratorConfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (config.kubeconfig) kc.loadFromFile(resolve(config.kubeconfig));
    // ORCH_KUBERNETES_SERVICE_ACCOUNT_PREFIX: where the service-account folder is mounted, when not at
    // the root (pods of the test cluster run on the host, so theirs is under a folder of their own).
    else if (config.inCluster && !process.env.KUBECONFIG) kc.loadFromCluster(process.env.ORCH_KUBERNETES_SERVICE_ACCOUNT_PREFIX ?? "");
    else kc.loadFromDefault();
    if (config.kubernetesContext) kc.setCurrentContext(config.kubernetesContext);
  } catch (cause) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "kubernetes",
      key: config.kubeconfig ? "kubeconfig" : "kubernetesContext",
      message: `Could not load Kubernetes credentials${config.kubeconfig ? ` from ${config.kubeconfig}` : ""}: ${(cause as Error).message}`,
      hint: "Point kubeconfig at a valid file and kubernetesContext at one of its contexts (kubectl config get-contexts).",
      cause,
    });
  }
  if (!kc.getCurrentCluster()) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "kubernetes",
      key: "kubernetesContext",
      message: `The kubeconfig has no cluster for context "${kc.getCurrentContext()}".`,
      hint: "Set kubernetesContext to one of the kubeconfig's contexts (kubectl config get-contexts).",
    });
  }
  return kc;
}

/** The kubernetes orchestrator runtime: submits runs, launches step Jobs (in the orchestrator pod), schedules CronJobs. */
export function createKubernetesOrchestrator(config: KubernetesOrchestratorConfig, context: PluginContext): Orchestrator & { trackers: Map<string, ResourceTracker> } {
  const store = context.artifactStore;
  const namespace = config.kubernetesNamespace;
  const podStore = podArtifactStore(config, store.describe());
  // A remote store's credentials (env() of the store this process opened). In the orchestrator pod the
  // store was opened from describe() plus these variables, so env() is empty there and the names come
  // from the config (storeEnv) instead.
  const storeEnv = config.configSecret ? undefined : (store.env?.() ?? {});
  // With `build` and no `image`, the image is built (and pushed) at the first submit or schedule.
  let builtImage: string | undefined;
  const input = (snapshot: Snapshot): ManifestInput => ({
    config: config.image || !config.build ? config : { ...config, image: builtImage ?? IMAGE_BUILT_AT_SUBMIT },
    snapshot,
    podStore,
    ...(storeEnv ? { storeEnv } : {}),
    // In the orchestrator pod the stack is not known (it is "in-cluster"), and nothing there needs it.
    ...(context.stackName && context.stackName !== "in-cluster" ? { stack: context.stackName } : {}),
  });

  async function ensureImage(): Promise<void> {
    if (config.image || !config.build || builtImage) return;
    const registry = context.containerRegistry?.config as { uri?: string } | undefined;
    if (!registry?.uri) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: "kubernetes",
        key: "build",
        message: "The kubernetes orchestrator builds the project image (config key build), but the stack has no container registry to push it to; cluster nodes cannot pull an image that only exists on this machine.",
        hint: "Add a container registry to the stack (orch stack update -c NAME), or build and push the image yourself and set image.",
      });
    }
    let docker: typeof import("@orch/docker");
    try {
      const specifier = "@orch/docker";
      docker = (await import(specifier)) as typeof import("@orch/docker");
    } catch (cause) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: "kubernetes",
        key: "build",
        message: "Building the image (config key build) needs the @orch/docker package, which is not installed.",
        hint: "Install it next to @orch/plugin-kubernetes (npm install @orch/docker), or set image to an image you built.",
        cause,
      });
    }
    const built = await docker.buildProjectImage({
      docker: docker.createDockerClient(),
      projectRoot: context.projectRoot,
      baseImage: config.build.baseImage,
      ...(config.build.imageName ? { imageName: config.build.imageName } : {}),
      registry: { uri: registry.uri },
      onProgress: (event) => process.stderr.write(`[orch] kubernetes: image ${event.phase}: ${event.message}\n`),
    });
    builtImage = built.pushed ?? built.image;
  }

  let clients: { kc: k8s.KubeConfig; batch: k8s.BatchV1Api; core: k8s.CoreV1Api } | undefined;
  const api = () => {
    if (!clients) {
      const kc = loadKubeConfig(config);
      clients = { kc, batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api) };
    }
    return clients;
  };
  const trackers = new Map<string, ResourceTracker>();
  const timers = new Set<NodeJS.Timeout>();
  let serviceAccountReady: Promise<void> | undefined;

  /** Jobs and pods of one run, listed once and then watched. */
  async function tracker(kind: "jobs" | "pods", runId: string): Promise<ResourceTracker> {
    const key = `${kind}/${runId}`;
    let found = trackers.get(key);
    if (!found) {
      const { kc, batch, core } = api();
      const labelSelector = `${LABELS.runId}=${labelValue(runId)}`;
      found = new ResourceTracker(kc, {
        path: kind === "jobs" ? `/apis/batch/v1/namespaces/${namespace}/jobs` : `/api/v1/namespaces/${namespace}/pods`,
        labelSelector,
        list: async () => {
          const list = kind === "jobs" ? await batch.listNamespacedJob({ namespace, labelSelector }) : await core.listNamespacedPod({ namespace, labelSelector });
          return { items: list.items as unknown as KubeObject[], ...(list.metadata?.resourceVersion ? { resourceVersion: list.metadata.resourceVersion } : {}) };
        },
        onError: (error) => process.stderr.write(`[orch] kubernetes: watching ${kind} of run ${runId}: ${apiMessage(error)} (reconnecting)\n`),
      });
      trackers.set(key, found);
    }
    await found.start();
    return found;
  }

  /** Waits until the service account pods will run as exists (new namespaces get `default` a moment later). */
  function waitForServiceAccount(): Promise<void> {
    serviceAccountReady ??= (async () => {
      const name = config.serviceAccount ?? "default";
      for (let attempt = 0; ; attempt++) {
        try {
          await api().core.readNamespacedServiceAccount({ name, namespace });
          return;
        } catch (error) {
          if (apiStatus(error) !== 404 || attempt >= 40) {
            serviceAccountReady = undefined;
            if (apiStatus(error) === 404) {
              throw new OrchError("E_CONFIG_INVALID", {
                flavor: "kubernetes",
                key: "serviceAccount",
                message: `Service account "${name}" does not exist in namespace ${namespace}.`,
                hint: `Create it (kubectl -n ${namespace} create serviceaccount ${name}) with the RBAC rules in the plugin README, or set serviceAccount.`,
              });
            }
            throw kubernetesError(`reading service account ${name}`, error, config);
          }
          await sleep(Math.min(100 * 2 ** attempt, 1_000));
        }
      }
    })();
    return serviceAccountReady;
  }

  /** Creates a Job; a 403 for a service account that does not exist yet is retried, as kubectl users do by hand. */
  async function createJob(job: K8sObject): Promise<void> {
    assertValidManifest(job);
    for (let attempt = 0; ; attempt++) {
      try {
        await api().batch.createNamespacedJob({ namespace, body: job as unknown as k8s.V1Job });
        return;
      } catch (error) {
        if (isMissingServiceAccount(error) && attempt < 40) {
          await sleep(Math.min(100 * 2 ** attempt, 1_000));
          continue;
        }
        throw error;
      }
    }
  }

  async function readJob(name: string): Promise<JobLike | undefined> {
    try {
      return (await api().batch.readNamespacedJob({ name, namespace })) as unknown as JobLike;
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async function deleteJob(name: string): Promise<void> {
    try {
      await api().batch.deleteNamespacedJob({ name, namespace, body: { propagationPolicy: "Background" } });
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
    }
  }

  /**
   * Creates a Job, or adopts the one that already exists under its deterministic name (a restarted
   * orchestrator finds the Job its predecessor started). A failed leftover is replaced.
   */
  async function createOrAdopt(job: K8sObject): Promise<"created" | "adopted"> {
    const name = job.metadata.name;
    for (let attempt = 0; ; attempt++) {
      try {
        await createJob(job);
        return "created";
      } catch (error) {
        if (apiStatus(error) !== 409) throw kubernetesError(`creating Job ${name}`, error, config);
      }
      const existing = await readJob(name);
      if (!existing) continue; // deleted in between: create again
      const outcome = jobOutcome(existing);
      if (!existing.metadata?.deletionTimestamp && (!outcome || outcome.succeeded)) return "adopted";
      if (attempt >= 60) throw new OrchError("E_STEP_FAILED", { message: `Job ${name} from an earlier attempt is still being deleted.`, hint: `Delete it with kubectl -n ${namespace} delete job ${name} and resume the run.` });
      if (!existing.metadata?.deletionTimestamp) await deleteJob(name);
      await sleep(Math.min(100 * 2 ** attempt, 1_000));
    }
  }

  /** Resolves when Job `name` has finished or vanished; watches pods to fail fast on pods that can never start. */
  async function followJob(runId: string, name: string, signal: AbortSignal): Promise<{ outcome?: { succeeded: boolean; reason?: string }; deleted?: boolean; stuck?: string }> {
    const jobs = await tracker("jobs", runId);
    const pods = await tracker("pods", runId);
    return new Promise((resolveFollow) => {
      let settled = false;
      const startedAt = Date.now();
      const finish = (value: { outcome?: { succeeded: boolean; reason?: string }; deleted?: boolean; stuck?: string }) => {
        if (settled) return;
        settled = true;
        unsubscribeJobs();
        unsubscribePods();
        clearInterval(timer);
        timers.delete(timer);
        signal.removeEventListener("abort", onAbort);
        resolveFollow(value);
      };
      const checkJob = (job: JobLike | undefined) => {
        if (!job) return finish({ deleted: true });
        const outcome = jobOutcome(job);
        if (outcome) finish({ outcome });
      };
      const checkPods = () => {
        for (const pod of pods.objects.values() as Iterable<PodLike>) {
          if (!isPodOfJob(pod, name)) continue;
          for (const container of pod.status?.containerStatuses ?? []) {
            const waiting = container.state?.waiting;
            if (waiting?.reason && FATAL_WAITING_REASONS.has(waiting.reason)) {
              return finish({ stuck: `pod ${pod.metadata?.name} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}` });
            }
          }
          // Pending since the follow began or the pod was made (a retry's pod gets its own time to start).
          const pendingSince = Math.max(startedAt, createdAt(pod));
          if (pod.status?.phase === "Pending" && !pod.metadata?.deletionTimestamp && Date.now() - pendingSince > config.stepStartTimeoutSeconds * 1000) {
            const why = pod.status.conditions?.find((c) => c.status === "False" && c.message)?.message ?? "still Pending";
            return finish({ stuck: `pod ${pod.metadata?.name} did not start within ${config.stepStartTimeoutSeconds}s (stepStartTimeoutSeconds): ${why}` });
          }
        }
      };
      const onAbort = () => finish({});
      const unsubscribeJobs = jobs.subscribe((changed, job) => changed === name && checkJob(job as JobLike | undefined));
      const unsubscribePods = pods.subscribe(() => checkPods());
      const timer = setInterval(checkPods, 5_000);
      timers.add(timer);
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) return onAbort();
      const cached = jobs.objects.get(name) as JobLike | undefined;
      // Just created: the watch event may not have arrived yet, so ask before concluding it is gone.
      if (cached) checkJob(cached);
      else void readJob(name).then((job) => checkJob(job ?? (jobs.objects.get(name) as JobLike | undefined)), () => {});
      checkPods();
    });
  }

  /** Launches one step as a Job and follows it to the end (used by the orchestrator pod through core's scheduler). */
  async function launchStep(request: LaunchRequest): Promise<LaunchResult> {
    const { runId, step, snapshot, signal } = request;
    const job = stepJob(input(snapshot), runId, step);
    const name = job.metadata.name;
    await waitForServiceAccount();
    await tracker("jobs", runId);
    const pods = await tracker("pods", runId);
    // The Job controller replaces a pod that died (OOM kill, eviction, node loss): each pod is an attempt.
    // A pod's runner counts only its own attempts, so what each pod did is read from the record as it ends.
    const podAttempts = new Map<string, number>();
    const notePod = (podName: string, object: KubeObject | undefined) => {
      const pod = object as PodLike | undefined;
      if (!pod || !isPodOfJob(pod, name) || podAttempts.has(podName) || !terminatedState(pod, STEP_CONTAINER)) return;
      podAttempts.set(podName, 1);
      void readStepRecord(store, runId, step.id).then((record) => podAttempts.set(podName, Math.max(1, record?.attempts ?? 1)), () => {});
    };
    const unsubscribe = pods.subscribe(notePod);
    try {
      const how = await createOrAdopt(job);
      request.writeLog(`[orch] ${how === "created" ? "created" : "adopted existing"} Job ${name} for step ${step.id}`);
      const result = await followJob(runId, name, signal);
      if (signal.aborted) {
        await deleteJob(name).catch(() => {});
        return { failureReason: `stopped: Job ${name} was deleted` };
      }
      if (result.stuck) {
        await deleteJob(name).catch(() => {});
        return { failureReason: result.stuck };
      }
      if (result.deleted) {
        // `orch run stop` deletes every Job of the run at once; give our own stop signal a moment to arrive.
        await Promise.race([sleep(2_000), new Promise((r) => signal.addEventListener("abort", r, { once: true }))]);
        return { failureReason: `Job ${name} was deleted before step ${step.id} finished` };
      }
      const jobPods = (await findPods(`${LABELS.runId}=${labelValue(runId)},${LABELS.step}=${labelValue(step.id)}`).catch(() => [...pods.objects.values()] as PodLike[]))
        .filter((pod) => isPodOfJob(pod, name))
        .sort(byCreation);
      // Pods that ended and were deleted since (evicted pods are) count too: they were seen ending.
      const podNames = [...new Set([...podAttempts.keys(), ...jobPods.map((pod) => pod.metadata?.name ?? "")])].filter(Boolean);
      await countPodAttempts(runId, step.id, podNames, jobPods.at(-1)?.metadata?.name, podAttempts);
      if (result.outcome?.succeeded) return {};
      const why = podFailure(jobPods.at(-1));
      const attempts = podNames.length > 1 ? ` after ${podNames.length} pods` : "";
      return { failureReason: why ? `${why}${attempts} (Job ${name}: ${result.outcome?.reason ?? "failed"})` : `Job ${name} failed: ${result.outcome?.reason ?? "unknown reason"}` };
    } finally {
      unsubscribe();
    }
  }

  /**
   * Makes the step record's `attempts` count every pod of the Job: the attempts of the pods the Job
   * controller replaced (at least one each) plus those of the last pod, whose runner wrote the record.
   */
  async function countPodAttempts(runId: string, stepId: string, podNames: string[], lastPod: string | undefined, podAttempts: Map<string, number>): Promise<void> {
    if (podNames.length < 2) return;
    const record = await readStepRecord(store, runId, stepId);
    if (!record) return;
    const earlier = podNames.filter((name) => name !== lastPod).reduce((sum, name) => sum + (podAttempts.get(name) ?? 1), 0);
    const last = Math.max(1, record.attempts);
    await writeStepRecord(store, { ...record, attempts: earlier + last });
  }

  async function findPods(selector: string): Promise<PodLike[]> {
    const list = await api().core.listNamespacedPod({ namespace, labelSelector: selector });
    return (list.items as unknown as PodLike[]).sort(byCreation);
  }

  async function readRun(runId: string): Promise<RunRecord | undefined> {
    return readRunRecord(store, runId);
  }

  /** Follows a run submitted to the cluster: journal records as they change, until the orchestrator Job ends. */
  async function waitForRun(snapshot: Snapshot, runId: string, jobName: string, submitSignal: AbortSignal, observer: import("@orch/core").RunObserver | undefined): Promise<{ run: RunRecord; steps: StepRecord[] }> {
    const seen = new Map<string, string>();
    let started = false;
    const poll = async () => {
      const run = await readRun(runId);
      if (run && !started) {
        started = true;
        await observer?.runStarted?.(run, snapshot);
      }
      for (const record of await readStepRecords(store, runId)) {
        const key = JSON.stringify([record.status, record.attempts, record.finishedAt]);
        if (seen.get(record.stepId) !== key) {
          seen.set(record.stepId, key);
          await observer?.stepUpdated?.(record);
        }
      }
    };
    const controller = new AbortController();
    const onStop = () => void stop(runId).catch(() => {});
    submitSignal.addEventListener("abort", onStop, { once: true });
    const polling = (async () => {
      while (!controller.signal.aborted) {
        await poll().catch(() => {});
        await sleep(500, undefined, { signal: controller.signal }).catch(() => {});
      }
    })();
    let result: Awaited<ReturnType<typeof followJob>>;
    try {
      result = await followJob(runId, jobName, new AbortController().signal);
    } finally {
      submitSignal.removeEventListener("abort", onStop);
      controller.abort();
      await polling;
    }
    await poll();
    let run = await readRun(runId);
    if (!run || run.status === "running") {
      // The orchestrator pod died without finishing the journal (crash loop, deleted Job): say so in the record.
      if (result.stuck) await deleteJob(jobName).catch(() => {});
      const reason = result.stuck ?? (result.deleted ? "the orchestrator Job was deleted" : (result.outcome?.reason ?? "the orchestrator pod ended without finishing the run"));
      run = {
        ...(run ?? { runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, startedAt: new Date().toISOString(), parameters: snapshot.parameters }),
        status: submitSignal.aborted || result.deleted ? "stopped" : "failed",
        finishedAt: new Date().toISOString(),
        orchestrator: "kubernetes",
        error: { code: "E_STEP_FAILED", message: `Run ${runId}: ${reason}.` } as RunRecord["error"],
      } as RunRecord;
      await writeRunRecord(store, run);
    }
    const steps = await readStepRecords(store, runId);
    await observer?.runFinished?.(run, steps);
    return { run, steps };
  }

  async function stop(runId: string): Promise<void> {
    // A finished run is left alone (its Jobs keep their pods and logs until ttlSecondsAfterFinished).
    const current = await readRun(runId);
    if (current && current.status !== "running") return;
    // Recorded first: the orchestrator pod stops the run on SIGTERM only when it finds this request;
    // any other SIGTERM (pod deletion, drain, eviction) is a shutdown and its replacement resumes the run.
    await requestRunStop(store, runId);
    const { batch } = api();
    const deleteOptions: k8s.V1DeleteOptions = { propagationPolicy: "Background", gracePeriodSeconds: 30 };
    try {
      await batch.deleteCollectionNamespacedJob({ namespace, labelSelector: `${LABELS.runId}=${labelValue(runId)}`, body: deleteOptions });
      // A scheduled run's orchestrator Job was made by its CronJob, so it carries the schedule label, not the run id.
      const scheduled = await batch.listNamespacedJob({ namespace, labelSelector: `${LABELS.managedBy}=orch,${LABELS.component}=orchestrator,${LABELS.schedule}` });
      for (const job of scheduled.items) {
        const name = job.metadata?.name;
        if (name && scheduledRunId(name) === runId) await deleteJob(name);
      }
    } catch (error) {
      throw kubernetesError(`stopping run ${runId}`, error, config);
    }
    // The orchestrator pod records the stop when it gets SIGTERM; if it is already gone, record it here.
    for (let i = 0; i < 30; i++) {
      const run = await readRun(runId);
      if (!run || run.status !== "running") return;
      await sleep(500);
    }
    const run = await readRun(runId);
    if (run?.status === "running") await writeRunRecord(store, { ...run, status: "stopped", finishedAt: new Date().toISOString() });
  }

  /** The container output of one pod: all of it, or (follow) streamed until the container ends. */
  async function* podLogLines(podName: string, follow: boolean): AsyncGenerator<string> {
    if (!follow) {
      let text: string;
      try {
        text = String((await api().core.readNamespacedPodLog({ name: podName, namespace, container: STEP_CONTAINER })) ?? "");
      } catch (error) {
        yield `[orch] no output from pod ${podName}: ${apiMessage(error)}`;
        return;
      }
      yield* text.split("\n").filter(Boolean);
      return;
    }
    const stream = new PassThrough();
    const controller = await new k8s.Log(api().kc).log(namespace, podName, STEP_CONTAINER, stream, { follow: true });
    const lines = createInterface({ input: stream });
    try {
      for await (const line of lines) yield line;
    } finally {
      controller.abort();
      lines.close();
    }
  }

  /**
   * A step's whole log: the output of every pod of its Job (console.log, stderr, crash messages — the
   * runner echoes its own lines there too), one section per attempt, then the journal's log lines that
   * no pod log holds (pods already deleted by ttlSecondsAfterFinished). `follow` streams the running pod
   * and the pods the Job controller makes after it, until the step's Job has finished.
   */
  async function* logs(runId: string, stepId: string, options: { follow?: boolean } = {}): AsyncIterable<string> {
    const selector = `${LABELS.runId}=${labelValue(runId)},${LABELS.step}=${labelValue(stepId)}`;
    const listPods = async () => {
      try {
        return await findPods(selector);
      } catch (error) {
        throw kubernetesError(`listing pods of run ${runId}`, error, config);
      }
    };
    const stepFinished = async () => {
      const job = await readJob(stepJobName(config.jobNamePrefix, runId, stepId)).catch(() => undefined);
      if (job) return Boolean(jobOutcome(job));
      return (await readRun(runId))?.status !== "running" || FINISHED_STEP_STATUSES.has((await readStepRecord(store, runId, stepId))?.status ?? "pending");
    };
    const seen = new Set<string>();
    const printed = new Set<string>();
    for (;;) {
      const pods = await listPods();
      for (const [index, pod] of pods.entries()) {
        const podName = pod.metadata?.name;
        if (!podName || printed.has(podName)) continue;
        let current = pod;
        if (options.follow) {
          // Wait for the container to start (or never to: an unschedulable pod is left for the next round).
          while (current.status?.phase === "Pending" && !(await stepFinished())) {
            await sleep(500);
            current = ((await api().core.readNamespacedPod({ name: podName, namespace }).catch(() => undefined)) as PodLike | undefined) ?? current;
          }
        }
        printed.add(podName);
        const ended = podFailure(current);
        yield `[orch] ── attempt ${index + 1}: pod ${podName}${current.status?.phase ? ` (${current.status.phase}${ended ? `: ${ended.replace(/ in pod .*$/, "")}` : ""})` : ""} ──`;
        const running = current.status?.phase === "Running";
        for await (const line of podLogLines(podName, Boolean(options.follow) && running)) {
          seen.add(line);
          yield line;
        }
      }
      if (!options.follow || (await stepFinished())) {
        // Pods made between the last list and the end of the Job.
        if (options.follow && (await listPods()).some((pod) => pod.metadata?.name && !printed.has(pod.metadata.name))) continue;
        break;
      }
      await sleep(500);
    }
    const data = await store.read(journalKeys.log(runId, stepId));
    const journal = data ? Buffer.from(data).toString("utf8").split("\n").filter(Boolean) : [];
    const missing = journal.filter((line) => !seen.has(line));
    if (missing.length) {
      if (printed.size) yield "[orch] ── step log (journal) ──";
      yield* missing;
    }
  }

  /**
   * Creates or replaces a configuration Secret, without owner: pods may need it before their Job exists,
   * and an earlier owner being deleted (a resumed run's old Job) must not take the new content with it.
   */
  async function putSecret(secret: K8sObject): Promise<void> {
    assertValidManifest(secret);
    const name = secret.metadata.name;
    const { core } = api();
    try {
      await core.createNamespacedSecret({ namespace, body: secret as unknown as k8s.V1Secret });
    } catch (error) {
      if (apiStatus(error) !== 409) throw kubernetesError(`creating Secret ${name}`, error, config);
      try {
        await core.replaceNamespacedSecret({ name, namespace, body: secret as unknown as k8s.V1Secret });
      } catch (replaceError) {
        throw kubernetesError(`updating Secret ${name}`, replaceError, config);
      }
    }
  }

  /** Makes `owner` own the Secret, so the garbage collector deletes it with the run's Job (or the schedule's CronJob). */
  async function ownSecret(name: string, owner: { kind: "Job" | "CronJob"; name: string; uid: string }): Promise<void> {
    const { core } = api();
    try {
      const secret = await core.readNamespacedSecret({ name, namespace });
      secret.metadata = { ...secret.metadata, ownerReferences: [{ apiVersion: "batch/v1", kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] };
      await core.replaceNamespacedSecret({ name, namespace, body: secret });
    } catch (error) {
      throw kubernetesError(`setting the owner of Secret ${name}`, error, config);
    }
  }

  async function schedule(snapshot: Snapshot, when: Schedule): Promise<{ id: string }> {
    await ensureImage();
    const manifest = assertValidManifest(cronJob(input(snapshot), when));
    const name = manifest.metadata.name;
    await store.write(scheduleSnapshotKey(name), serializeSnapshot(snapshot));
    const { batch } = api();
    await waitForServiceAccount();
    const secretName = scheduleSecretName(name);
    await putSecret(configSecret(input(snapshot), secretName));
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await batch.createNamespacedCronJob({ namespace, body: manifest as unknown as k8s.V1CronJob });
        await ownSecret(secretName, { kind: "CronJob", name, uid: created.metadata!.uid! });
        return { id: name };
      } catch (error) {
        if (isOrchError(error)) throw error;
        // The same pipeline on the same schedule: replace it (new code), leaving its running Jobs alone.
        if (apiStatus(error) === 409 && attempt < 3) {
          await batch.deleteNamespacedCronJob({ name, namespace, body: { propagationPolicy: "Orphan" } }).catch(() => {});
          continue;
        }
        throw kubernetesError(`creating CronJob ${name}`, error, config);
      }
    }
  }

  const runtime: Orchestrator & { trackers: Map<string, ResourceTracker> } = {
    flavor: "kubernetes",
    trackers,

    async preflight(snapshot) {
      // Building (and validating) every manifest catches a misspelled pod setting before anything is created.
      for (const id of snapshot.order) assertValidManifest(stepJob(input(snapshot), "preflight", snapshot.steps[id]!));
      assertValidManifest(orchestratorJob(input(snapshot), "preflight"));
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      await ensureImage();
      const job = assertValidManifest(orchestratorJob(input(snapshot), runId));
      for (const id of snapshot.order) assertValidManifest(stepJob(input(snapshot), runId, snapshot.steps[id]!));
      // The orchestrator pod reads the snapshot from the artifact store.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      // A resumed run may have been stopped: that request is spent.
      if (submit.resume) await clearStopRequest(store, runId);
      await waitForServiceAccount();
      const name = job.metadata.name;
      // The component config reaches the pods through a Secret (env secretKeyRef), created before the
      // Job so its pod never starts without it, then owned by the Job so it goes away with it.
      const secretName = runSecretName(config.jobNamePrefix, runId);
      if (!submit.resume && (await readJob(name).catch(() => undefined))) {
        throw new OrchError("E_USAGE", { message: `Run ${runId} already has an orchestrator Job (${name}) in namespace ${namespace}.`, hint: "Use a new run id, or resume the run." });
      }
      await putSecret(configSecret(input(snapshot), secretName));
      try {
        await createJob(job);
      } catch (error) {
        if (apiStatus(error) === 409 && submit.resume) {
          // Resuming: replace the finished orchestrator Job of the earlier attempt; its pod resumes the run.
          await createOrAdopt(job);
        } else if (apiStatus(error) === 409) {
          throw new OrchError("E_USAGE", { message: `Run ${runId} already has an orchestrator Job (${name}) in namespace ${namespace}.`, hint: "Use a new run id, or resume the run." });
        } else {
          await api().core.deleteNamespacedSecret({ name: secretName, namespace }).catch(() => {});
          throw kubernetesError(`creating orchestrator Job ${name}`, error, config);
        }
      }
      const created = await readJob(name).catch((error) => {
        throw kubernetesError(`reading orchestrator Job ${name}`, error, config);
      });
      if (created?.metadata && "uid" in created.metadata) await ownSecret(secretName, { kind: "Job", name, uid: String((created.metadata as { uid: string }).uid) });
      if (!config.synchronous) {
        return {
          runId,
          async wait() {
            const run = (await readRun(runId)) ?? ({ runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), parameters: snapshot.parameters, orchestrator: "kubernetes" } as RunRecord);
            return { run, steps: await readStepRecords(store, runId) };
          },
        };
      }
      const done = waitForRun(snapshot, runId, name, submit.signal, submit.observer);
      done.catch(() => {});
      return { runId, wait: () => done };
    },

    async compile(snapshot) {
      const runId = `compiled-${snapshot.pipeline.hash.slice(0, 8)}`;
      const files: Record<string, string> = {};
      const yaml = (objects: K8sObject[]) => objects.map((o) => stringify(assertValidManifest(o), { lineWidth: 0 })).join("---\n");
      files["orchestrator-job.yaml"] = yaml([orchestratorJob(input(snapshot), runId)]);
      // The run's configuration for the pods (apply it with the Jobs; it holds the component config, so keep it private).
      files["config-secret.yaml"] = yaml([configSecret(input(snapshot), runSecretName(config.jobNamePrefix, runId))]);
      files["step-jobs.yaml"] = yaml(snapshot.order.map((id) => stepJob(input(snapshot), runId, snapshot.steps[id]!)));
      if (snapshot.pipeline.schedule) {
        const cron = cronJob(input(snapshot), snapshot.pipeline.schedule);
        files["cronjob.yaml"] = yaml([cron]);
        files["cronjob-config-secret.yaml"] = yaml([configSecret(input(snapshot), scheduleSecretName(cron.metadata.name))]);
      }
      files["snapshot.json"] = serializeSnapshot(snapshot);
      return files;
    },

    async status(runId) {
      const run = await readRun(runId);
      if (run && run.status !== "running") return run.status;
      let job: JobLike | undefined;
      try {
        job = await readJob(orchestratorJobName(config.jobNamePrefix, runId));
      } catch (error) {
        throw kubernetesError(`reading run ${runId}`, error, config);
      }
      if (!job) return run ? "failed" : undefined; // journal says running, but nothing runs it any more
      const outcome = jobOutcome(job);
      if (!outcome) return "running";
      return (await readRun(runId))?.status ?? (outcome.succeeded ? "succeeded" : "failed");
    },

    stop,
    logs,
    schedule,

    async deleteSchedule(id) {
      try {
        await api().batch.deleteNamespacedCronJob({ name: id, namespace, body: { propagationPolicy: "Background" } });
      } catch (error) {
        if (apiStatus(error) === 404) {
          throw new OrchError("E_USAGE", { message: `No schedule "${id}" (CronJob) in namespace ${namespace}.`, hint: "List schedules with orch schedule list." });
        }
        throw kubernetesError(`deleting CronJob ${id}`, error, config);
      }
      await store.delete(`schedules/${id}/`);
    },

    async listSchedules() {
      let list: k8s.V1CronJobList;
      try {
        list = await api().batch.listNamespacedCronJob({ namespace, labelSelector: `${LABELS.managedBy}=orch` });
      } catch (error) {
        throw kubernetesError("listing CronJobs", error, config);
      }
      return list.items.map((item) => ({
        id: item.metadata?.name ?? "",
        pipeline: item.metadata?.annotations?.[ANNOTATIONS.pipeline] ?? item.metadata?.labels?.[LABELS.pipeline] ?? "",
        schedule: `${item.spec?.schedule ?? ""}${item.spec?.timeZone ? ` (${item.spec.timeZone})` : ""}`,
      }));
    },

    stepLauncher: launchStep,

    async dispose() {
      for (const tracker of trackers.values()) tracker.stop();
      trackers.clear();
      for (const timer of timers) clearInterval(timer);
      timers.clear();
    },
  };
  return runtime;
}

export { ORCHESTRATOR_CONTAINER, STEP_CONTAINER, cronJobName, stepJobName, orchestratorJobName };
