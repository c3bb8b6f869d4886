/**
 * Schedules as Vertex AI schedules (ScheduleService): each one holds a PipelineJob template that Vertex
 * starts at the cron times. A scheduled run is named by Vertex, so its run id is the PipelineJob's id
 * (`{{$.pipeline_job_name}}`, resolved by Vertex in every task); its first task (`orch-vertex-run
 * setup`) copies the schedule's snapshot (stored under schedules/<key>/) to the run's journal, its last
 * (`orch-vertex-run finalize`) records the run's end.
 */
import {
  OrchError,
  intervalToCron,
  scheduleKind,
  serializeSnapshot,
  sha256,
  toKubernetesCron,
  type Schedule,
  type Snapshot,
} from "@orch/core/plugin";
import { BACKEND_RUN_ID, RUN_ID_PARAMETER, kfpName, runnerSnapshot, type PipelineSpec } from "@orch/kfp";
import { httpStatus, vertexError } from "./errors.js";
import { VERTEX_LABELS, displayName, labelValue, pipelineJob, pipelineRoot, runLabels } from "./job.js";
import type { VertexContext } from "./runtime.js";


/** Where a schedule's snapshot lives in the artifact store. */
export const scheduleSnapshotKey = (key: string) => `schedules/${key}/snapshot.json`;

/** Vertex replaces this placeholder with the PipelineJob's id in every task that takes it as a constant input. */
export const PIPELINE_JOB_NAME = "{{$.pipeline_job_name}}";

/** A schedule's key (its display name, and the folder of its snapshot): pipeline and a hash of what is scheduled. */
export function scheduleKey(pipeline: string, schedule: Schedule): string {
  const hash = sha256(JSON.stringify([pipeline, schedule.cron ?? null, schedule.intervalSeconds ?? null, schedule.runOnceAt ?? null, schedule.timezone ?? null])).slice(0, 8);
  return `orch-${kfpName(pipeline).slice(0, 40)}-${hash}`;
}

/**
 * The Vertex cron of a schedule: 5 Unix fields (Sunday = 0, macros expanded) with a `TZ=` prefix for
 * the timezone (UTC unless given). An interval becomes cron where cron repeats it evenly; a one-off
 * run is that minute's cron, run once (maxRunCount 1).
 */
export function vertexCron(schedule: Schedule): { cron: string; maxRunCount?: number } {
  const kind = scheduleKind(schedule);
  if (kind === "once") {
    const at = new Date(schedule.runOnceAt!);
    return { cron: `TZ=UTC ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`, maxRunCount: 1 };
  }
  const unix = kind === "interval" ? intervalToCron(schedule.intervalSeconds!, "A Vertex AI schedule") : schedule.cron!;
  return { cron: `TZ=${schedule.timezone ?? "UTC"} ${toKubernetesCron(unix)}` };
}

/**
 * The IR of a schedule's runs: the compiler's backend-started form (a setup task that starts the run's
 * journal from the schedule's snapshot, the steps, a finalize task that records the end whatever
 * happened), with the run id taken from the PipelineJob's id (`{{$.pipeline_job_name}}`) rather than
 * its internal uuid, so `orch run stop` and status() find the job by the run id.
 */
export function scheduledIr(ctx: VertexContext, snapshot: Snapshot, key: string): PipelineSpec {
  const { config } = ctx;
  const { pipelineSpec } = ctx.compileIr(snapshot, {
    scheduled: {
      setupCommand: [...config.runCommand, "setup", "--snapshot", scheduleSnapshotKey(key), "--project-root", config.projectRoot],
      finalizeCommand: [...config.runCommand, "finalize", "--project-root", config.projectRoot],
    },
  });
  for (const task of Object.values(pipelineSpec.root.dag.tasks)) {
    const input = task.inputs?.parameters?.[RUN_ID_PARAMETER];
    if (input?.runtimeValue?.constant === BACKEND_RUN_ID) input.runtimeValue.constant = PIPELINE_JOB_NAME;
  }
  return pipelineSpec;
}

/** Creates the Vertex schedule of `snapshot` on `when` (replacing the same pipeline's schedule on the same times). */
export async function createSchedule(ctx: VertexContext, snapshot: Snapshot, when: Schedule): Promise<{ id: string }> {
  const { config } = ctx;
  const store = ctx.plugin.artifactStore;
  const key = scheduleKey(snapshot.pipeline.name, when);
  const { cron, maxRunCount } = vertexCron(when);
  const ir = scheduledIr(ctx, snapshot, key);
  const { schedules, parent } = await ctx.clients();
  // The same pipeline on the same times: replace it (new code).
  for (const existing of await listOrchSchedules(ctx)) {
    if (existing.displayName === key) await deleteSchedule(ctx, existing.name!.split("/").pop()!);
  }
  await store.write(scheduleSnapshotKey(key), serializeSnapshot(runnerSnapshot(snapshot)));
  const labels = runLabels(config, snapshot.pipeline.name, { [VERTEX_LABELS.schedule]: labelValue(key) });
  const job = pipelineJob({
    config,
    pipelineSpec: ir as unknown as Record<string, unknown>,
    displayName: displayName(key),
    labels,
    parameterValues: { ...snapshot.parameters },
    gcsOutputDirectory: `${pipelineRoot(config, store.describe())}/schedules/${key}`,
  });
  const seconds = (iso: string) => ({ seconds: Math.floor(Date.parse(iso) / 1000) });
  try {
    const [created] = await schedules.createSchedule({
      parent,
      schedule: {
        displayName: key,
        cron,
        maxConcurrentRunCount: when.allowOverlap ? config.maxConcurrentRunCount : 1,
        catchUp: when.catchup,
        ...(maxRunCount ? { maxRunCount } : {}),
        ...(when.startTime ? { startTime: seconds(when.startTime) } : {}),
        ...(when.endTime ? { endTime: seconds(when.endTime) } : {}),
        createPipelineJobRequest: { parent, pipelineJob: job },
      },
    });
    return { id: String(created.name).split("/").pop()! };
  } catch (error) {
    await store.delete(`schedules/${key}/`).catch(() => {});
    throw vertexError(`creating schedule ${key}`, error, config);
  }
}

interface ScheduleView {
  name?: string | null;
  displayName?: string | null;
  cron?: string | null;
  createPipelineJobRequest?: { pipelineJob?: { labels?: Record<string, string> | null } | null } | null;
}

/** Every schedule of the location that orch made (its PipelineJob template carries orch's labels), all pages. */
async function listOrchSchedules(ctx: VertexContext): Promise<ScheduleView[]> {
  const { schedules, parent } = await ctx.clients();
  let all: ScheduleView[];
  try {
    // Every page (the client follows nextPageToken).
    [all] = (await schedules.listSchedules({ parent })) as unknown as [ScheduleView[]];
  } catch (error) {
    throw vertexError("listing schedules", error, ctx.config);
  }
  return all.filter((s) => s.createPipelineJobRequest?.pipelineJob?.labels?.[VERTEX_LABELS.managedBy] === "orch");
}

/** Deletes a schedule (a long-running operation, waited for) and its stored snapshot. */
export async function deleteSchedule(ctx: VertexContext, id: string): Promise<void> {
  const { schedules, parent } = await ctx.clients();
  const name = id.includes("/") ? id : `${parent}/schedules/${id}`;
  let key: string | undefined;
  try {
    const [schedule] = await schedules.getSchedule({ name });
    key = schedule.displayName ?? undefined;
  } catch (error) {
    if (httpStatus(error) === 404) {
      throw new OrchError("E_USAGE", { flavor: "vertex", message: `No schedule "${id}" in ${parent}.`, hint: "List schedules with orch schedule list." });
    }
    throw vertexError(`reading schedule ${name}`, error, ctx.config);
  }
  try {
    const [operation] = await schedules.deleteSchedule({ name });
    await operation.promise();
  } catch (error) {
    throw vertexError(`deleting schedule ${name}`, error, ctx.config);
  }
  if (key?.startsWith("orch-")) await ctx.plugin.artifactStore.delete(`schedules/${key}/`);
}

/** orch's schedules in the location. */
export async function listSchedules(ctx: VertexContext): Promise<{ id: string; pipeline: string; schedule: string }[]> {
  return (await listOrchSchedules(ctx)).map((s) => ({
    id: String(s.name).split("/").pop()!,
    pipeline: s.createPipelineJobRequest?.pipelineJob?.labels?.[VERTEX_LABELS.pipeline] ?? s.displayName ?? "",
    schedule: s.cron ?? "",
  }));
}

