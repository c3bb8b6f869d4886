/**
 * Schedules as Azure ML job schedules (`workspaces/schedules`): a Cron trigger (5-field cron and a
 * Windows time-zone id) or a Recurrence trigger for an interval, whose CreateJob action is the
 * pipeline job of the snapshot. One-off runs (runOnceAt) are refused: Azure ML has no one-shot trigger.
 */
import type { Schedule as ArmSchedule } from "@azure/arm-machinelearning";
import { OrchError, sha256, scheduleKind, type Schedule, type Snapshot } from "@orch/core/plugin";
import { FLAVOR } from "./config.js";
import { windowsTimeZone } from "./time-zone.js";

/** Tag that marks orch's schedules (and names their pipeline). */
export const SCHEDULE_TAG = "orch.pipeline";

/** Name of a schedule: the pipeline and a hash of when it runs, so the same schedule is replaced, not doubled. */
export function scheduleName(pipeline: string, when: Schedule): string {
  const base = pipeline.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "pipeline";
  return `orch-${base}-${sha256(JSON.stringify([pipeline, when.cron ?? null, when.intervalSeconds ?? null, when.timezone ?? null])).slice(0, 8)}`;
}

/** A Recurrence trigger for an interval: the largest unit that divides it. */
function recurrence(seconds: number, pipeline: string): { frequency: "Minute" | "Hour" | "Day" | "Week"; interval: number } {
  if (seconds % 60 !== 0) {
    throw new OrchError("E_SCHEDULE_INVALID", {
      flavor: FLAVOR,
      key: "schedule.intervalSeconds",
      message: `Pipeline "${pipeline}": an interval of ${seconds}s is not a whole number of minutes; Azure ML recurrences count minutes, hours, days or weeks.`,
      hint: "Use an interval that is a multiple of 60 seconds.",
    });
  }
  const minutes = seconds / 60;
  if (minutes % (7 * 24 * 60) === 0) return { frequency: "Week", interval: minutes / (7 * 24 * 60) };
  if (minutes % (24 * 60) === 0) return { frequency: "Day", interval: minutes / (24 * 60) };
  if (minutes % 60 === 0) return { frequency: "Hour", interval: minutes / 60 };
  return { frequency: "Minute", interval: minutes };
}

/** The schedule resource of `snapshot` on `when`, running `jobDefinition` (a PipelineJob's properties). */
export function scheduleBody(snapshot: Snapshot, when: Schedule, jobDefinition: Record<string, unknown>): ArmSchedule {
  const pipeline = snapshot.pipeline.name;
  const kind = scheduleKind(when);
  if (kind === "once") {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: FLAVOR,
      key: "schedule.runOnceAt",
      message: `Pipeline "${pipeline}": Azure ML schedules have no one-off trigger (runOnceAt).`,
      hint: "Use a cron or interval schedule, or run the pipeline at that time with orch schedule serve.",
    });
  }
  const timeZone = windowsTimeZone(when.timezone, pipeline);
  const common = {
    timeZone,
    ...(when.startTime ? { startTime: when.startTime } : {}),
    ...(when.endTime ? { endTime: when.endTime } : {}),
  };
  const trigger =
    kind === "cron"
      ? { triggerType: "Cron" as const, expression: when.cron!, ...common }
      : { triggerType: "Recurrence" as const, ...recurrence(when.intervalSeconds!, pipeline), ...common };
  return {
    properties: {
      displayName: `${pipeline} (orch)`,
      description: `orch schedule of pipeline ${pipeline}`,
      tags: { [SCHEDULE_TAG]: pipeline },
      isEnabled: true,
      trigger,
      action: { actionType: "CreateJob", jobDefinition: jobDefinition as never },
    },
  } as ArmSchedule;
}

/** How `orch schedule list` shows a schedule's trigger. */
export function describeTrigger(schedule: ArmSchedule): string {
  const trigger = schedule.properties.trigger as { triggerType?: string; expression?: string; frequency?: string; interval?: number; timeZone?: string };
  const when = trigger.triggerType === "Cron" ? trigger.expression : `every ${trigger.interval} ${String(trigger.frequency).toLowerCase()}(s)`;
  return `${when ?? "?"}${trigger.timeZone ? ` (${trigger.timeZone})` : ""}`;
}
