/**
 * `orch run logs` for a kubeflow run. With a Kubernetes context or kubeconfig (`kubernetesContext`,
 * `kubeconfig`): the output of the step's pods (`task_details[].pod_name`, one section per attempt),
 * read through the Kubernetes API; KFP v2 runs the user's command in the pod's `main` container. Without
 * one, or when the pods are gone (garbage-collected), or with `follow`: the step's log in the journal.
 */
import { readStepLog, type ArtifactStore } from "@orch/core/plugin";
import { taskNames } from "@orch/kfp";
import type { Run } from "./api-types.js";
import type { KubeflowOrchestratorConfig } from "./config.js";
import { taskOf } from "./status.js";

/** The container KFP v2 runs the task's command in. */
export const MAIN_CONTAINER = "main";

export interface LogsContext {
  config: KubeflowOrchestratorConfig;
  store: ArtifactStore;
  kfpRunOf(runId: string): Promise<Run | undefined>;
  stepOrder(runId: string): Promise<string[]>;
}

export async function* stepLogs(ctx: LogsContext, runId: string, stepId: string, options: { follow?: boolean } = {}): AsyncIterable<string> {
  const { config, store } = ctx;
  const journal = () => readStepLog(store, runId, stepId, { follow: options.follow ?? false });
  if ((!config.kubernetesContext && !config.kubeconfig) || options.follow) return yield* journal();
  const run = await ctx.kfpRunOf(runId);
  const task = run ? taskOf(run, stepId, taskNames(await ctx.stepOrder(runId)).get(stepId) ?? stepId) : undefined;
  const pods = [...new Set([...(task?.child_tasks ?? []).map((c) => c.pod_name), task?.pod_name].filter((p): p is string => Boolean(p)))];
  if (!pods.length) return yield* journal();
  // The SDK loads here, only when pod logs are asked for.
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  if (config.kubernetesContext) kc.setCurrentContext(config.kubernetesContext);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespace = config.userNamespace ?? config.kubeflowNamespace;
  const sections: string[][] = [];
  const problems: string[] = [];
  for (const pod of pods) {
    try {
      const text = String((await core.readNamespacedPodLog({ name: pod, namespace, container: MAIN_CONTAINER })) ?? "");
      sections.push([...(pods.length > 1 ? [`[orch] attempt ${sections.length + 1} (pod ${pod})`] : []), ...text.split("\n").filter(Boolean)]);
    } catch (error) {
      // A deleted pod (KFP garbage-collects finished pods) is no news: the journal has the step's log.
      if ((error as { code?: number }).code !== 404) problems.push(`[orch] no output from pod ${pod} in namespace ${namespace}: ${(error as Error).message}`);
    }
  }
  yield* problems;
  if (!sections.length) return yield* journal();
  for (const lines of sections) yield* lines;
}
