/**
 * Step Jobs: the step launcher core's scheduler calls in the orchestrator pod. One Job per step,
 * created (or adopted after an orchestrator restart) under a deterministic name and followed through the
 * run's Job and pod watches until it ends; pods that can never start fail the step at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { readStepRecord, writeStepRecord, type LaunchRequest, type LaunchResult } from "@orch/core/plugin";
import { runSelector } from "./client.js";
import type { KubernetesContext } from "./context.js";
import { STEP_CONTAINER, stepJob } from "./manifests.js";
import { FATAL_WAITING_REASONS, byCreation, createdAt, isPodOfJob, jobOutcome, podFailure, terminatedState, type JobLike, type PodLike } from "./status.js";
import type { KubeObject } from "./watch.js";

export interface JobEnd {
  outcome?: { succeeded: boolean; reason?: string };
  deleted?: boolean;
  /** Why a pod of the Job can never start (image pull errors, unschedulable past stepStartTimeoutSeconds). */
  stuck?: string;
}

/** Resolves when Job `name` has finished or vanished; watches pods to fail fast on pods that can never start. */
export async function followJob(ctx: KubernetesContext, runId: string, name: string, signal: AbortSignal): Promise<JobEnd> {
  const { client, config, timers } = ctx;
  const jobs = await client.tracker("jobs", runId);
  const pods = await client.tracker("pods", runId);
  return new Promise((resolveFollow) => {
    let settled = false;
    const startedAt = Date.now();
    const finish = (value: JobEnd) => {
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
    else void client.readJob(name).then((job) => checkJob(job ?? (jobs.objects.get(name) as JobLike | undefined)), () => {});
    checkPods();
  });
}

/** Launches one step as a Job and follows it to the end (used by the orchestrator pod through core's scheduler). */
export async function launchStepJob(ctx: KubernetesContext, request: LaunchRequest): Promise<LaunchResult> {
  const { client } = ctx;
  const { runId, step, snapshot, signal } = request;
  const job = stepJob(ctx.manifestInput(snapshot), runId, step);
  const name = job.metadata.name;
  await client.waitForServiceAccount();
  await client.tracker("jobs", runId);
  const pods = await client.tracker("pods", runId);
  // The Job controller replaces a pod that died (OOM kill, eviction, node loss): each pod is an attempt.
  // A pod's runner counts only its own attempts, so what each pod did is read from the record as it ends.
  const podAttempts = new Map<string, number>();
  const notePod = (podName: string, object: KubeObject | undefined) => {
    const pod = object as PodLike | undefined;
    if (!pod || !isPodOfJob(pod, name) || podAttempts.has(podName) || !terminatedState(pod, STEP_CONTAINER)) return;
    podAttempts.set(podName, 1);
    void readStepRecord(ctx.store, runId, step.id).then((record) => podAttempts.set(podName, Math.max(1, record?.attempts ?? 1)), () => {});
  };
  const unsubscribe = pods.subscribe(notePod);
  try {
    const how = await client.createOrAdopt(job);
    request.writeLog(`[orch] ${how === "created" ? "created" : "adopted existing"} Job ${name} for step ${step.id}`);
    const result = await followJob(ctx, runId, name, signal);
    if (signal.aborted) {
      await client.deleteJob(name).catch(() => {});
      return { failureReason: `stopped: Job ${name} was deleted` };
    }
    if (result.stuck) {
      await client.deleteJob(name).catch(() => {});
      return { failureReason: result.stuck };
    }
    if (result.deleted) {
      // `orch run stop` deletes every Job of the run at once; give our own stop signal a moment to arrive.
      await Promise.race([sleep(2_000), new Promise((r) => signal.addEventListener("abort", r, { once: true }))]);
      return { failureReason: `Job ${name} was deleted before step ${step.id} finished` };
    }
    const jobPods = (await client.findPods(runSelector(runId, step.id)).catch(() => [...pods.objects.values()] as PodLike[])).filter((pod) => isPodOfJob(pod, name)).sort(byCreation);
    // Pods that ended and were deleted since (evicted pods are) count too: they were seen ending.
    const podNames = [...new Set([...podAttempts.keys(), ...jobPods.map((pod) => pod.metadata?.name ?? "")])].filter(Boolean);
    await countPodAttempts(ctx, runId, step.id, podNames, jobPods.at(-1)?.metadata?.name, podAttempts);
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
async function countPodAttempts(ctx: KubernetesContext, runId: string, stepId: string, podNames: string[], lastPod: string | undefined, podAttempts: Map<string, number>): Promise<void> {
  if (podNames.length < 2) return;
  const record = await readStepRecord(ctx.store, runId, stepId);
  if (!record) return;
  const earlier = podNames.filter((name) => name !== lastPod).reduce((sum, name) => sum + (podAttempts.get(name) ?? 1), 0);
  const last = Math.max(1, record.attempts);
  await writeStepRecord(ctx.store, { ...record, attempts: earlier + last });
}
