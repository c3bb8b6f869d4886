/**
 * `orch run logs` for a kubernetes run: a step's log is what its pods printed (one section per attempt),
 * streamed while the step runs with `follow`, then the journal's lines no pod log holds.
 */
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { FINISHED_STEP_STATUSES, readRunRecord, readStepLog, readStepRecord } from "@orch/core/plugin";
import { runSelector } from "./client.js";
import type { KubernetesContext } from "./context.js";
import { apiMessage } from "./errors.js";
import { STEP_CONTAINER, stepJobName } from "./manifests.js";
import { jobOutcome, podFailure } from "./status.js";

/** The container output of one pod: all of it, or (follow) streamed until the container ends. */
async function* podLogLines(ctx: KubernetesContext, podName: string, follow: boolean): AsyncGenerator<string> {
  const { client } = ctx;
  if (!follow) {
    let text: string;
    try {
      text = String((await client.api().core.readNamespacedPodLog({ name: podName, namespace: client.namespace, container: STEP_CONTAINER })) ?? "");
    } catch (error) {
      yield `[orch] no output from pod ${podName}: ${apiMessage(error)}`;
      return;
    }
    yield* text.split("\n").filter(Boolean);
    return;
  }
  const stream = new PassThrough();
  const controller = await new k8s.Log(client.api().kc).log(client.namespace, podName, STEP_CONTAINER, stream, { follow: true });
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
export async function* stepLogs(ctx: KubernetesContext, runId: string, stepId: string, options: { follow?: boolean } = {}): AsyncIterable<string> {
  const { client, config, store } = ctx;
  const listPods = async () => {
    try {
      return await client.findPods(runSelector(runId, stepId));
    } catch (error) {
      throw client.error(`listing pods of run ${runId}`, error);
    }
  };
  const stepFinished = async () => {
    const job = await client.readJob(stepJobName(config.jobNamePrefix, runId, stepId)).catch(() => undefined);
    if (job) return Boolean(jobOutcome(job));
    return (await readRunRecord(store, runId))?.status !== "running" || FINISHED_STEP_STATUSES.has((await readStepRecord(store, runId, stepId))?.status ?? "pending");
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
          current = (await client.readPod(podName)) ?? current;
        }
      }
      printed.add(podName);
      const ended = podFailure(current);
      yield `[orch] ── attempt ${index + 1}: pod ${podName}${current.status?.phase ? ` (${current.status.phase}${ended ? `: ${ended.replace(/ in pod .*$/, "")}` : ""})` : ""} ──`;
      const running = current.status?.phase === "Running";
      for await (const line of podLogLines(ctx, podName, Boolean(options.follow) && running)) {
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
  // The journal's lines no pod log holds (all of them when the pods are gone).
  let first = true;
  for await (const line of readStepLog(store, runId, stepId, { skip: seen })) {
    if (first && printed.size) yield "[orch] ── step log (journal) ──";
    first = false;
    yield line;
  }
}
