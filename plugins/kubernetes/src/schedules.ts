/**
 * Schedules as CronJobs: each CronJob's Jobs run `orch-kubernetes-scheduled-run`, which starts the run
 * from the snapshot stored under schedules/<name>/. The schedule's configuration Secret is owned by its
 * CronJob, so deleting the CronJob removes it.
 */
import type * as k8s from "@kubernetes/client-node";
import { ORCH_ANNOTATIONS, ORCH_LABELS, ORCH_MANAGED_BY, OrchError, isOrchError, serializeSnapshot, type Schedule, type Snapshot } from "@orch/core/plugin";
import type { KubernetesContext } from "./context.js";
import { apiStatus } from "./errors.js";
import { configSecret, cronJob, scheduleSecretName, scheduleSnapshotKey } from "./manifests.js";
import { assertValidManifest } from "./validate.js";

/** Creates the CronJob of `snapshot` on `when` (replacing the same pipeline's CronJob on the same schedule). */
export async function createSchedule(ctx: KubernetesContext, snapshot: Snapshot, when: Schedule): Promise<{ id: string }> {
  const { client, store } = ctx;
  const manifest = assertValidManifest(cronJob(ctx.manifestInput(snapshot), when));
  const name = manifest.metadata.name;
  await store.write(scheduleSnapshotKey(name), serializeSnapshot(snapshot));
  await client.waitForServiceAccount();
  const secretName = scheduleSecretName(name);
  await client.putSecret(configSecret(ctx.manifestInput(snapshot), secretName));
  const { batch } = client.api();
  for (let attempt = 0; ; attempt++) {
    try {
      const created = await batch.createNamespacedCronJob({ namespace: client.namespace, body: manifest as unknown as k8s.V1CronJob });
      await client.ownSecret(secretName, { kind: "CronJob", name, uid: created.metadata!.uid! });
      return { id: name };
    } catch (error) {
      if (isOrchError(error)) throw error;
      // The same pipeline on the same schedule: replace it (new code), leaving its running Jobs alone.
      if (apiStatus(error) === 409 && attempt < 3) {
        await batch.deleteNamespacedCronJob({ name, namespace: client.namespace, body: { propagationPolicy: "Orphan" } }).catch(() => {});
        continue;
      }
      throw client.error(`creating CronJob ${name}`, error);
    }
  }
}

/** Deletes a schedule's CronJob (its Secret goes with it) and its stored snapshot. */
export async function deleteSchedule(ctx: KubernetesContext, id: string): Promise<void> {
  const { client } = ctx;
  try {
    await client.api().batch.deleteNamespacedCronJob({ name: id, namespace: client.namespace, body: { propagationPolicy: "Background" } });
  } catch (error) {
    if (apiStatus(error) === 404) {
      throw new OrchError("E_USAGE", { message: `No schedule "${id}" (CronJob) in namespace ${client.namespace}.`, hint: "List schedules with orch schedule list." });
    }
    throw client.error(`deleting CronJob ${id}`, error);
  }
  await ctx.store.delete(`schedules/${id}/`);
}

/** orch's CronJobs in the namespace. */
export async function listSchedules(ctx: KubernetesContext): Promise<{ id: string; pipeline: string; schedule: string }[]> {
  const { client } = ctx;
  let list: k8s.V1CronJobList;
  // Selected by managed-by only (not by flavor label): CronJobs created before that label existed are found too.
  try {
    list = await client.api().batch.listNamespacedCronJob({ namespace: client.namespace, labelSelector: `${ORCH_LABELS.managedBy}=${ORCH_MANAGED_BY}` });
  } catch (error) {
    throw client.error("listing CronJobs", error);
  }
  return list.items.map((item) => ({
    id: item.metadata?.name ?? "",
    pipeline: item.metadata?.annotations?.[ORCH_ANNOTATIONS.pipeline] ?? item.metadata?.labels?.[ORCH_LABELS.pipeline] ?? "",
    schedule: `${item.spec?.schedule ?? ""}${item.spec?.timeZone ? ` (${item.spec.timeZone})` : ""}`,
  }));
}
