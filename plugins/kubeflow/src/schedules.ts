/**
 * Schedules as KFP recurring runs. A recurring run cannot name its runs, so its pipeline version is
 * compiled for a backend-started run: orch's run id is KFP's run uuid, a setup task copies the
 * schedule's snapshot (stored under schedules/<name>/) to the run and writes its run record, and a
 * finalize task records the run's end. Cron is converted by core to KFP's seconds-first dialect.
 */
import { OrchError, serializeSnapshot, toKfpCron, type Schedule, type Snapshot } from "@orch/core/plugin";
import { kfpName, runnerSnapshot } from "@orch/kfp";
import type { NewRecurringRun, RecurringRun } from "./api-types.js";
import { KfpApiError, kfpError } from "./client.js";
import { FLAVOR } from "./config.js";
import type { KubeflowContext } from "./runtime.js";

/** Recurring runs orch made are named `orch-<pipeline>-<hash of the schedule>`. */
const PREFIX = "orch-";

export const scheduleSnapshotKey = (name: string) => `schedules/${name}/snapshot.json`;

/** The recurring run's trigger: `cron_schedule` in KFP's 6-field dialect, or `periodic_schedule`. */
export function recurringTrigger(when: Schedule): NewRecurringRun["trigger"] {
  const window = { ...(when.startTime ? { start_time: when.startTime } : {}), ...(when.endTime ? { end_time: when.endTime } : {}) };
  if (when.timezone && when.timezone !== "UTC" && when.timezone !== "Etc/UTC") {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: FLAVOR,
      key: "schedule.timezone",
      message: `kubeflow: a KFP recurring run evaluates cron in the KFP controller's timezone (UTC), so timezone "${when.timezone}" cannot be honoured.`,
      hint: "Write the cron in UTC and drop the timezone.",
    });
  }
  if (when.cron !== undefined) return { cron_schedule: { cron: toKfpCron(when.cron), ...window } };
  if (when.intervalSeconds !== undefined) return { periodic_schedule: { interval_second: String(when.intervalSeconds), ...window } };
  throw new OrchError("E_CAPABILITY_UNSUPPORTED", { flavor: FLAVOR, message: "kubeflow: a one-off run (runOnceAt) is not a KFP recurring run.", hint: "Use cron or intervalSeconds, or start the run yourself at that time." });
}

function scheduleName(snapshot: Snapshot, when: Schedule): string {
  const trigger = when.cron ?? `every-${when.intervalSeconds}s`;
  let hash = 0;
  for (const c of `${snapshot.pipeline.name}|${trigger}`) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return `${PREFIX}${kfpName(snapshot.pipeline.name).slice(0, 40)}-${hash.toString(36)}`;
}

export async function createSchedule(ctx: KubeflowContext, snapshot: Snapshot, when: Schedule): Promise<{ id: string }> {
  const { client, config, context } = ctx;
  const trigger = recurringTrigger(when);
  const name = scheduleName(snapshot, when);
  const snapshotKey = scheduleSnapshotKey(name);
  const ir = ctx.compile(snapshot, { scheduled: { setupCommand: [...config.runCommand, "setup", "--snapshot", snapshotKey, "--project-root", config.projectRoot], finalizeCommand: [...config.runCommand, "finalize"] } });
  await context.artifactStore.write(snapshotKey, serializeSnapshot(runnerSnapshot(snapshot)));
  const reference = await ctx.ensureVersion(snapshot, ir);
  const experiment = await ctx.ensureExperiment();
  const pipelineRoot = ctx.pipelineRoot();
  try {
    // The same pipeline on the same trigger: replace it (new code).
    for (const existing of await client.listRecurringRuns()) if (existing.display_name === name) await client.deleteRecurringRun(existing.recurring_run_id);
    const created = await client.createRecurringRun({
      display_name: name,
      description: `orch schedule of ${snapshot.pipeline.name}`,
      pipeline_version_reference: reference,
      runtime_config: { parameters: ctx.runtimeParameters(snapshot), ...(pipelineRoot ? { pipeline_root: pipelineRoot } : {}) },
      ...(config.serviceAccount ? { service_account: config.serviceAccount } : {}),
      trigger,
      // allowOverlap: false → one run at a time (KFP's default is 10).
      max_concurrency: when.allowOverlap ? "10" : "1",
      no_catchup: !when.catchup,
      mode: "ENABLE",
      experiment_id: experiment,
      ...(config.userNamespace ? { namespace: config.userNamespace } : {}),
    });
    return { id: created.recurring_run_id };
  } catch (error) {
    throw kfpError(`creating recurring run ${name}`, error, config);
  }
}

export async function deleteSchedule(ctx: KubeflowContext, id: string): Promise<void> {
  const { client, config } = ctx;
  let recurring: RecurringRun | undefined;
  try {
    recurring = await client.getRecurringRun(id);
    if (!recurring) throw new OrchError("E_USAGE", { flavor: FLAVOR, message: `kubeflow: no recurring run "${id}" at ${config.host}.`, hint: "List schedules with orch schedule list." });
    await client.deleteRecurringRun(id);
  } catch (error) {
    if (error instanceof KfpApiError && error.status === 404) throw new OrchError("E_USAGE", { flavor: FLAVOR, message: `kubeflow: no recurring run "${id}" at ${config.host}.`, hint: "List schedules with orch schedule list." });
    throw kfpError(`deleting recurring run ${id}`, error, config);
  }
  if (recurring.display_name.startsWith(PREFIX)) await ctx.context.artifactStore.delete(`schedules/${recurring.display_name}/`);
}

export async function listSchedules(ctx: KubeflowContext): Promise<{ id: string; pipeline: string; schedule: string }[]> {
  let all: RecurringRun[];
  try {
    all = await ctx.client.listRecurringRuns();
  } catch (error) {
    throw kfpError("listing recurring runs", error, ctx.config);
  }
  return all
    .filter((r) => r.display_name.startsWith(PREFIX))
    .map((r) => ({
      id: r.recurring_run_id,
      pipeline: r.description?.replace(/^orch schedule of /, "") ?? r.display_name,
      schedule: r.trigger?.cron_schedule?.cron ?? (r.trigger?.periodic_schedule ? `every ${r.trigger.periodic_schedule.interval_second}s` : ""),
    }));
}
