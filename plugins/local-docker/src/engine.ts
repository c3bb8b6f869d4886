// What a run leaves on the Docker engine besides its containers' work: labelled containers and the
// stop-request volume; found and removed by orch's labels (ORCH_LABELS).
import { ORCH_LABELS, ORCH_MANAGED_BY, readRunRecord, runOwnerGone, type ArtifactStore } from "@orch/core/plugin";
import type { Docker } from "@orch/docker";
import { FLAVOR } from "./config.js";

const stopRequestLabels = (runId: string) => ({ [ORCH_LABELS.managedBy]: ORCH_MANAGED_BY, [ORCH_LABELS.component]: "stop-request", [ORCH_LABELS.runId]: runId });
const stopVolumeName = (runId: string) => `orch-stop-${runId}`.replace(/[^a-zA-Z0-9_.-]/g, "-");

/** Leaves a stop request for a run on the engine: a small labelled volume, visible to every process. */
export async function requestStop(docker: Docker, runId: string): Promise<void> {
  await docker.createVolume({ Name: stopVolumeName(runId), Labels: stopRequestLabels(runId) });
}

export async function stopRequested(docker: Docker, runId: string): Promise<boolean> {
  const { Volumes } = await docker.listVolumes({ filters: { label: Object.entries(stopRequestLabels(runId)).map(([key, value]) => `${key}=${value}`) } });
  return (Volumes ?? []).length > 0;
}

export async function clearStopRequest(docker: Docker, runId: string): Promise<void> {
  await docker.getVolume(stopVolumeName(runId)).remove().catch(() => {});
}

/**
 * Removes the step containers of runs that no process drives any more: every container of `resumedRunId`
 * (it is being resumed, so nothing else runs it), and those of runs in this store that have finished or
 * whose driving process on this host is gone (killed with -9, the machine rebooted). Containers of runs
 * driven by a live process, and of runs this store does not know, are left alone.
 */
export async function removeLeftoverContainers(docker: Docker, store: ArtifactStore, options: { resumedRunId?: string; drivenHere(runId: string): boolean }): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.flavor}=${FLAVOR}`] } });
  const runIds = [...new Set(containers.map((c) => c.Labels?.[ORCH_LABELS.runId]).filter((id): id is string => Boolean(id)))];
  const removed: string[] = [];
  for (const runId of runIds) {
    if (options.drivenHere(runId)) continue;
    if (runId !== options.resumedRunId) {
      const run = await readRunRecord(store, runId).catch(() => undefined);
      if (!run) continue;
      if (run.status === "running" && !runOwnerGone(run)) continue;
    }
    if ((await removeRunContainers(docker, runId, 0)) > 0) removed.push(runId);
  }
  return removed;
}

/** Stops (SIGTERM, SIGKILL after `graceSeconds`) and removes every container labelled with the run. */
export async function removeRunContainers(docker: Docker, runId: string, graceSeconds: number): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.runId}=${runId}`] } });
  await Promise.all(
    containers.map(async (info) => {
      const container = docker.getContainer(info.Id);
      if (info.State === "running") await container.stop({ t: graceSeconds }).catch(() => {});
      await container.remove({ force: true }).catch(() => {});
    }),
  );
  return containers.length;
}
