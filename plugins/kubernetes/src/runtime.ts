/**
 * The kubernetes runtime: wires the client, the step Jobs, the schedules and the logs to core's
 * orchestrator contract. A submitted run is one orchestrator Job (its pod runs core's scheduler with
 * `launchStepJob`); the submitting process follows the journal until that Job ends.
 */
import { stringify } from "yaml";
import {
  ORCH_LABELS,
  ORCH_MANAGED_BY,
  OrchError,
  clearStopRequest,
  followRun,
  journalKeys,
  readRunRecord,
  readStepRecords,
  serializeSnapshot,
  settleRun,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  buildStackImage,
  IMAGE_BUILT_AT_SUBMIT,
} from "@orch/core/plugin";
import { KubeClient, runSelector } from "./client.js";
import type { KubernetesOrchestratorConfig } from "./config.js";
import type { KubernetesContext } from "./context.js";
import { apiStatus } from "./errors.js";
import { followJob, launchStepJob } from "./jobs.js";
import { stepLogs } from "./logs.js";
import {
  configSecret,
  cronJob,
  orchestratorJob,
  orchestratorJobName,
  podArtifactStore,
  runSecretName,
  scheduleSecretName,
  scheduledRunId,
  stepJob,
  type K8sObject,
} from "./manifests.js";
import { createSchedule, deleteSchedule, listSchedules } from "./schedules.js";
import { jobOutcome } from "./status.js";
import { assertValidManifest } from "./validate.js";
import type { ResourceTracker } from "./watch.js";

/** The kubernetes orchestrator runtime: submits runs, launches step Jobs (in the orchestrator pod), schedules CronJobs. */
export function createOrchestrator(config: KubernetesOrchestratorConfig, context: PluginContext): Orchestrator & { trackers: Map<string, ResourceTracker> } {
  const store = context.artifactStore;
  const namespace = config.kubernetesNamespace;
  const client = new KubeClient(config);
  const podStore = podArtifactStore(config, store.describe());
  // A remote store's credentials (env() of the store this process opened). In the orchestrator pod the
  // store was opened from describe() plus these variables, so env() is empty there and the names come
  // from the config (storeEnv) instead.
  const storeEnv = config.configSecret ? undefined : (store.env?.() ?? {});
  // With `build` and no `image`, the image is built (and pushed) at the first submit or schedule.
  let builtImage: string | undefined;
  const ctx: KubernetesContext = {
    config,
    client,
    store,
    timers: new Set(),
    manifestInput: (snapshot) => ({
      config: config.image || !config.build ? config : { ...config, image: builtImage ?? IMAGE_BUILT_AT_SUBMIT },
      snapshot,
      podStore,
      ...(storeEnv ? { storeEnv } : {}),
      // In the orchestrator pod the stack is not known (it is "in-cluster"), and nothing there needs it.
      ...(context.stackName && context.stackName !== "in-cluster" ? { stack: context.stackName } : {}),
    }),
  };
  const input = ctx.manifestInput;

  async function ensureImage(): Promise<void> {
    if (config.image || !config.build || builtImage) return;
    builtImage = await buildStackImage({ flavor: "kubernetes", key: "build", puller: "cluster nodes", baseImage: config.build.baseImage, imageName: config.build.imageName, context, loadDocker: () => import("@orch/docker") });
  }

  const alreadyExists = (runId: string, name: string) =>
    new OrchError("E_USAGE", { message: `Run ${runId} already has an orchestrator Job (${name}) in namespace ${namespace}.`, hint: "Use a new run id, or resume the run." });

  /** How the cluster says a run is over: its orchestrator Job ended, was deleted, or its pod can never start. */
  async function orchestratorJobEnded(runId: string, jobName: string, stopped: AbortSignal): Promise<BackendEnd> {
    const result = await followJob(ctx, runId, jobName, new AbortController().signal);
    if (result.stuck) await client.deleteJob(jobName).catch(() => {});
    if (result.deleted) return { stopped: true, reason: "the orchestrator Job was deleted" };
    return { ...(stopped.aborted ? { stopped: true } : {}), reason: result.stuck ?? result.outcome?.reason ?? "the orchestrator pod ended without finishing the run" };
  }

  /**
   * The stop protocol (core's settleRun): the request is recorded first — the orchestrator pod stops the
   * run on SIGTERM only when it finds it; any other SIGTERM (pod deletion, drain, eviction) is a shutdown
   * and its replacement resumes the run — then every Job of the run is deleted. A finished run is left
   * alone (its Jobs keep their pods and logs until ttlSecondsAfterFinished).
   */
  async function stop(runId: string): Promise<void> {
    await settleRun(store, runId, {
      stop: async () => {
        try {
          await client.deleteJobs(runSelector(runId), 30);
          // A scheduled run's orchestrator Job was made by its CronJob, so it carries the schedule label, not the run id.
          const scheduled = await client.listJobs(`${ORCH_LABELS.managedBy}=${ORCH_MANAGED_BY},${ORCH_LABELS.component}=orchestrator,${ORCH_LABELS.schedule}`);
          for (const job of scheduled) {
            const name = job.metadata?.name;
            if (name && scheduledRunId(name) === runId) await client.deleteJob(name);
          }
        } catch (error) {
          throw client.error(`stopping run ${runId}`, error);
        }
      },
    });
  }

  const runtime: Orchestrator & { trackers: Map<string, ResourceTracker> } = {
    flavor: "kubernetes",
    trackers: client.trackers,

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
      await client.waitForServiceAccount();
      const name = job.metadata.name;
      // The component config reaches the pods through a Secret (env secretKeyRef), created before the
      // Job so its pod never starts without it, then owned by the Job so it goes away with it.
      const secretName = runSecretName(config.jobNamePrefix, runId);
      if (!submit.resume && (await client.readJob(name))) throw alreadyExists(runId, name);
      await client.putSecret(configSecret(input(snapshot), secretName));
      try {
        await client.createJob(job);
      } catch (error) {
        if (apiStatus(error) === 409 && submit.resume) {
          // Resuming: replace the finished orchestrator Job of the earlier attempt; its pod resumes the run.
          await client.createOrAdopt(job);
        } else if (apiStatus(error) === 409) {
          throw alreadyExists(runId, name);
        } else {
          await client.deleteSecret(secretName);
          throw client.error(`creating orchestrator Job ${name}`, error);
        }
      }
      const created = await client.readJob(name);
      const uid = (created?.metadata as { uid?: string } | undefined)?.uid;
      if (uid) await client.ownSecret(secretName, { kind: "Job", name, uid });
      if (!config.synchronous) {
        return {
          runId,
          async wait() {
            const run = (await readRunRecord(store, runId)) ?? ({ runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), parameters: snapshot.parameters, orchestrator: "kubernetes" } as RunRecord);
            return { run, steps: await readStepRecords(store, runId) };
          },
        };
      }
      // Follows the journal until the run ends; when the orchestrator Job ends without finishing it
      // (crash loop, deleted Job, a pod that cannot start), followRun records why.
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const done = followRun(store, runId, submit.observer, { snapshot, flavor: "kubernetes", backendEnded: orchestratorJobEnded(runId, name, submit.signal) }).finally(() =>
        submit.signal.removeEventListener("abort", onStop),
      );
      done.catch(() => {});
      return { runId, wait: () => done };
    },

    async compile(snapshot) {
      // With a registry in the stack, the compiled manifests name the pushed image by digest (built
      // and pushed now, or found in the registry unchanged); without one, a placeholder to replace.
      if (context.containerRegistry) await ensureImage();
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
      const run = await readRunRecord(store, runId);
      if (run && run.status !== "running") return run.status;
      const job = await client.readJob(orchestratorJobName(config.jobNamePrefix, runId));
      if (!job) return run ? "failed" : undefined; // journal says running, but nothing runs it any more
      const outcome = jobOutcome(job);
      if (!outcome) return "running";
      return (await readRunRecord(store, runId))?.status ?? (outcome.succeeded ? "succeeded" : "failed");
    },

    stop,
    logs: (runId, stepId, options) => stepLogs(ctx, runId, stepId, options),
    async schedule(snapshot, when) {
      await ensureImage();
      return createSchedule(ctx, snapshot, when);
    },
    deleteSchedule: (id) => deleteSchedule(ctx, id),
    listSchedules: () => listSchedules(ctx),
    stepLauncher: (request) => launchStepJob(ctx, request),

    async dispose() {
      client.dispose();
      for (const timer of ctx.timers) clearInterval(timer);
      ctx.timers.clear();
    },
  };
  return runtime;
}
