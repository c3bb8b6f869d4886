/**
 * Reading what Jobs and pods say about a step: whether a Job finished, why a pod ended, which pod came
 * first. Pure functions over the objects the API server returns.
 */
import { STEP_CONTAINER } from "./manifests.js";
import type { KubeObject } from "./watch.js";

export interface JobLike extends KubeObject {
  status?: { active?: number; succeeded?: number; failed?: number; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  spec?: { template?: { metadata?: { labels?: Record<string, string> } } };
}

export interface PodLike extends KubeObject {
  spec?: { containers?: { name: string; resources?: { limits?: Record<string, string> } }[] };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string }; terminated?: { exitCode?: number; reason?: string } } }[];
  };
}

/** Container waiting reasons that will not fix themselves: the step fails at once instead of hanging. */
export const FATAL_WAITING_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull"]);

export const isPodOfJob = (pod: PodLike, jobName: string) => pod.metadata?.labels?.["batch.kubernetes.io/job-name"] === jobName || pod.metadata?.labels?.["job-name"] === jobName;

export const createdAt = (pod: PodLike) => {
  const stamp = pod.metadata?.creationTimestamp;
  return stamp instanceof Date ? stamp.getTime() : Date.parse(String(stamp ?? "")) || 0;
};

/**
 * Attempt order. creationTimestamp has one-second resolution, so a crash and the Job controller's
 * replacement often share it; a Job runs one pod at a time, so within a second an ended (Failed) pod
 * came before the one that replaced it. The name is only the last resort (its suffix is random).
 */
export const byCreation = (a: PodLike, b: PodLike) =>
  createdAt(a) - createdAt(b) ||
  Number(b.status?.phase === "Failed") - Number(a.status?.phase === "Failed") ||
  String(a.metadata?.name).localeCompare(String(b.metadata?.name));

export const terminatedState = (pod: PodLike, container: string) => pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.terminated;

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
