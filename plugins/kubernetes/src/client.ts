/**
 * The plugin's one door to the API server: credentials, the namespaced calls the runtime makes (Jobs,
 * pods, Secrets, service accounts) with their retries, and the list-then-watch caches of a run's Jobs
 * and pods. Every failure leaves here as an OrchError (see errors.ts), except where a caller needs the
 * status (404 → undefined, 409 → adopt).
 */
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { ORCH_LABELS, OrchError } from "@orch/core/plugin";
import type { KubernetesOrchestratorConfig } from "./config.js";
import { apiMessage, apiStatus, isMissingServiceAccount, kubernetesError } from "./errors.js";
import { labelValue, type K8sObject } from "./manifests.js";
import { byCreation, jobOutcome, type JobLike, type PodLike } from "./status.js";
import { assertValidManifest } from "./validate.js";
import { ResourceTracker, type KubeObject } from "./watch.js";

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

/** Back-off for the waits below: 100 ms doubling to 1 s. */
const backoff = (attempt: number) => sleep(Math.min(100 * 2 ** attempt, 1_000));

/** The `orch.dev/run-id` selector of a run's objects (and, with a step, of that step's). */
export function runSelector(runId: string, stepId?: string): string {
  return `${ORCH_LABELS.runId}=${labelValue(runId)}${stepId === undefined ? "" : `,${ORCH_LABELS.stepId}=${labelValue(stepId)}`}`;
}

export class KubeClient {
  readonly namespace: string;
  /** Jobs and pods of each run, listed once and then watched (`jobs/<runId>`, `pods/<runId>`). */
  readonly trackers = new Map<string, ResourceTracker>();
  private clients: { kc: k8s.KubeConfig; batch: k8s.BatchV1Api; core: k8s.CoreV1Api } | undefined;
  private serviceAccountReady: Promise<void> | undefined;

  constructor(private readonly config: KubernetesOrchestratorConfig) {
    this.namespace = config.kubernetesNamespace;
  }

  /** The API clients, made on first use (credentials are read then, not when the plugin loads). */
  api() {
    if (!this.clients) {
      const kc = loadKubeConfig(this.config);
      this.clients = { kc, batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api) };
    }
    return this.clients;
  }

  /** `error` of `action` as an OrchError with the right code (errors.ts). */
  error(action: string, error: unknown): OrchError {
    return kubernetesError(action, error, this.config);
  }

  /** The list-then-watch cache of a run's Jobs or pods, started on first use. */
  async tracker(kind: "jobs" | "pods", runId: string): Promise<ResourceTracker> {
    const key = `${kind}/${runId}`;
    let found = this.trackers.get(key);
    if (!found) {
      const { kc, batch, core } = this.api();
      const { namespace } = this;
      const labelSelector = runSelector(runId);
      found = new ResourceTracker(kc, {
        path: kind === "jobs" ? `/apis/batch/v1/namespaces/${namespace}/jobs` : `/api/v1/namespaces/${namespace}/pods`,
        labelSelector,
        list: async () => {
          const list = kind === "jobs" ? await batch.listNamespacedJob({ namespace, labelSelector }) : await core.listNamespacedPod({ namespace, labelSelector });
          return { items: list.items as unknown as KubeObject[], ...(list.metadata?.resourceVersion ? { resourceVersion: list.metadata.resourceVersion } : {}) };
        },
        onError: (error) => process.stderr.write(`[orch] kubernetes: watching ${kind} of run ${runId}: ${apiMessage(error)} (reconnecting)\n`),
      });
      this.trackers.set(key, found);
    }
    await found.start();
    return found;
  }

  /** Waits until the service account pods will run as exists (new namespaces get `default` a moment later). */
  waitForServiceAccount(): Promise<void> {
    const { config, namespace } = this;
    this.serviceAccountReady ??= (async () => {
      const name = config.serviceAccount ?? "default";
      for (let attempt = 0; ; attempt++) {
        try {
          await this.api().core.readNamespacedServiceAccount({ name, namespace });
          return;
        } catch (error) {
          if (apiStatus(error) !== 404 || attempt >= 40) {
            this.serviceAccountReady = undefined;
            if (apiStatus(error) === 404) {
              throw new OrchError("E_CONFIG_INVALID", {
                flavor: "kubernetes",
                key: "serviceAccount",
                message: `Service account "${name}" does not exist in namespace ${namespace}.`,
                hint: `Create it (kubectl -n ${namespace} create serviceaccount ${name}) with the RBAC rules in the plugin README, or set serviceAccount.`,
              });
            }
            throw this.error(`reading service account ${name}`, error);
          }
          await backoff(attempt);
        }
      }
    })();
    return this.serviceAccountReady;
  }

  /** Creates a Job; a 403 for a service account that does not exist yet is retried, as kubectl users do by hand. Throws the API error (callers look at 409). */
  async createJob(job: K8sObject): Promise<void> {
    assertValidManifest(job);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.api().batch.createNamespacedJob({ namespace: this.namespace, body: job as unknown as k8s.V1Job });
        return;
      } catch (error) {
        if (isMissingServiceAccount(error) && attempt < 40) {
          await backoff(attempt);
          continue;
        }
        throw error;
      }
    }
  }

  /** The Job, or undefined when there is none. */
  async readJob(name: string): Promise<JobLike | undefined> {
    try {
      return (await this.api().batch.readNamespacedJob({ name, namespace: this.namespace })) as unknown as JobLike;
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw this.error(`reading Job ${name}`, error);
    }
  }

  /** Deletes a Job and (in the background) its pods; a Job already gone is fine. */
  async deleteJob(name: string, gracePeriodSeconds?: number): Promise<void> {
    try {
      await this.api().batch.deleteNamespacedJob({ name, namespace: this.namespace, body: { propagationPolicy: "Background", ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) } });
    } catch (error) {
      if (apiStatus(error) !== 404) throw this.error(`deleting Job ${name}`, error);
    }
  }

  /** Deletes every Job (and pod) matching `labelSelector`. */
  async deleteJobs(labelSelector: string, gracePeriodSeconds: number): Promise<void> {
    await this.api().batch.deleteCollectionNamespacedJob({ namespace: this.namespace, labelSelector, body: { propagationPolicy: "Background", gracePeriodSeconds } });
  }

  async listJobs(labelSelector: string): Promise<JobLike[]> {
    return (await this.api().batch.listNamespacedJob({ namespace: this.namespace, labelSelector })).items as unknown as JobLike[];
  }

  /**
   * Creates a Job, or adopts the one that already exists under its deterministic name (a restarted
   * orchestrator finds the Job its predecessor started). A failed leftover is replaced.
   */
  async createOrAdopt(job: K8sObject): Promise<"created" | "adopted"> {
    const name = job.metadata.name;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.createJob(job);
        return "created";
      } catch (error) {
        if (apiStatus(error) !== 409) throw this.error(`creating Job ${name}`, error);
      }
      const existing = await this.readJob(name);
      if (!existing) continue; // deleted in between: create again
      const outcome = jobOutcome(existing);
      if (!existing.metadata?.deletionTimestamp && (!outcome || outcome.succeeded)) return "adopted";
      if (attempt >= 60) throw new OrchError("E_STEP_FAILED", { message: `Job ${name} from an earlier attempt is still being deleted.`, hint: `Delete it with kubectl -n ${this.namespace} delete job ${name} and resume the run.` });
      if (!existing.metadata?.deletionTimestamp) await this.deleteJob(name);
      await backoff(attempt);
    }
  }

  /** Pods matching `labelSelector`, oldest first. */
  async findPods(labelSelector: string): Promise<PodLike[]> {
    const list = await this.api().core.listNamespacedPod({ namespace: this.namespace, labelSelector });
    return (list.items as unknown as PodLike[]).sort(byCreation);
  }

  async readPod(name: string): Promise<PodLike | undefined> {
    return (await this.api().core.readNamespacedPod({ name, namespace: this.namespace }).catch(() => undefined)) as PodLike | undefined;
  }

  /**
   * Creates or replaces a configuration Secret, without owner: pods may need it before their Job exists,
   * and an earlier owner being deleted (a resumed run's old Job) must not take the new content with it.
   */
  async putSecret(secret: K8sObject): Promise<void> {
    assertValidManifest(secret);
    const name = secret.metadata.name;
    const { core } = this.api();
    try {
      await core.createNamespacedSecret({ namespace: this.namespace, body: secret as unknown as k8s.V1Secret });
    } catch (error) {
      if (apiStatus(error) !== 409) throw this.error(`creating Secret ${name}`, error);
      try {
        await core.replaceNamespacedSecret({ name, namespace: this.namespace, body: secret as unknown as k8s.V1Secret });
      } catch (replaceError) {
        throw this.error(`updating Secret ${name}`, replaceError);
      }
    }
  }

  /** Makes `owner` own the Secret, so the garbage collector deletes it with the run's Job (or the schedule's CronJob). */
  async ownSecret(name: string, owner: { kind: "Job" | "CronJob"; name: string; uid: string }): Promise<void> {
    const { core } = this.api();
    try {
      const secret = await core.readNamespacedSecret({ name, namespace: this.namespace });
      secret.metadata = { ...secret.metadata, ownerReferences: [{ apiVersion: "batch/v1", kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] };
      await core.replaceNamespacedSecret({ name, namespace: this.namespace, body: secret });
    } catch (error) {
      throw this.error(`setting the owner of Secret ${name}`, error);
    }
  }

  /** Best effort: a Secret left behind by a submit that failed. */
  async deleteSecret(name: string): Promise<void> {
    await this.api().core.deleteNamespacedSecret({ name, namespace: this.namespace }).catch(() => {});
  }

  /** Stops the watches. */
  dispose(): void {
    for (const tracker of this.trackers.values()) tracker.stop();
    this.trackers.clear();
  }
}
