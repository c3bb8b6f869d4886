/**
 * Schedules as EventBridge Scheduler schedules whose target starts the pipeline's execution (what
 * ZenML's PipelineSchedule does): cron in AWS's 6-field dialect (core's toAwsCron) with
 * ScheduleExpressionTimezone, `rate(...)` for intervals, `at(...)` for one run (deleted after it).
 */
import { OrchError, sha256, toAwsCron, serializeSnapshot, type ArtifactStore, type Schedule, type Snapshot } from "@orch/core/plugin";
import { awsError, isNotFound, type AwsClients } from "./aws.js";
import { FLAVOR, type SageMakerOrchestratorConfig } from "./config.js";
import { parameterValue } from "./definition.js";
import { sageMakerParameterName } from "./names.js";

const SCHEDULE_GROUP = "default";
/** What orch writes into a schedule's Description, so `listSchedules` can name the pipeline. */
const DESCRIPTION_PREFIX = "orch schedule of pipeline ";

/** `rate(…)` for an interval EventBridge can express: whole minutes, hours or days. */
export function rateExpression(seconds: number): string {
  if (seconds % 60 !== 0) {
    throw new OrchError("E_CRON_UNSUPPORTED", {
      flavor: FLAVOR,
      message: `EventBridge Scheduler cannot repeat intervalSeconds: ${seconds}: its rate() counts whole minutes, hours or days.`,
      hint: "Use a multiple of 60 seconds (e.g. 900 = every 15 minutes), or a cron expression.",
    });
  }
  const minutes = seconds / 60;
  const [value, unit] = minutes % 1440 === 0 ? [minutes / 1440, "day"] : minutes % 60 === 0 ? [minutes / 60, "hour"] : [minutes, "minute"];
  return `rate(${value} ${unit}${value === 1 ? "" : "s"})`;
}

/** `at(yyyy-mm-ddThh:mm:ss)` of an instant in `timezone` (EventBridge reads it in ScheduleExpressionTimezone). */
export function atExpression(instant: string, timezone = "UTC"): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return `at(${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second})`;
}

export function scheduleExpression(when: Schedule): string {
  if (when.cron !== undefined) return `cron(${toAwsCron(when.cron)})`;
  if (when.intervalSeconds !== undefined) return rateExpression(when.intervalSeconds);
  return atExpression(when.runOnceAt!, when.timezone ?? "UTC");
}

/** The EventBridge schedule's name: the pipeline's name and a hash of what it runs and when (at most 64 characters). */
export function scheduleName(pipelineName: string, snapshot: Snapshot, when: Schedule): string {
  const hash = sha256(`${snapshot.pipeline.hash}\n${scheduleExpression(when)}\n${when.timezone ?? ""}\n${JSON.stringify(snapshot.parameters)}`).slice(0, 8);
  return `${pipelineName.slice(0, 64 - 9)}-${hash}`;
}

/**
 * The CreateSchedule request of `snapshot` on `when`; `name` is the schedule's and its SageMaker
 * pipeline's (one pipeline per schedule: its definition names the schedule's snapshot).
 */
export function scheduleRequest(config: SageMakerOrchestratorConfig, name: string, pipelineArn: string, snapshot: Snapshot, when: Schedule) {
  if (when.catchup) {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: FLAVOR,
      message: `The schedule of pipeline "${snapshot.pipeline.name}" asks for catchup, but EventBridge Scheduler does not run the intervals it missed.`,
      hint: "Remove catchup from the schedule.",
    });
  }
  const once = when.runOnceAt !== undefined;
  return {
    Name: name,
    GroupName: SCHEDULE_GROUP,
    Description: `${DESCRIPTION_PREFIX}${snapshot.pipeline.name}`,
    ScheduleExpression: scheduleExpression(when),
    ScheduleExpressionTimezone: when.timezone ?? "UTC",
    ...(when.startTime ? { StartDate: new Date(when.startTime) } : {}),
    ...(when.endTime ? { EndDate: new Date(when.endTime) } : {}),
    FlexibleTimeWindow: { Mode: "OFF" as const },
    State: "ENABLED" as const,
    ...(once ? { ActionAfterCompletion: "DELETE" as const } : {}),
    Target: {
      Arn: pipelineArn,
      RoleArn: config.schedulerRole ?? config.executionRole,
      SageMakerPipelineParameters: {
        PipelineParameterList: [
          ...Object.keys(snapshot.parameters)
            .sort()
            .map((name) => ({ Name: sageMakerParameterName(name), Value: parameterValue(snapshot.parameters[name]) })),
        ],
      },
    },
  };
}

/** Where a schedule's snapshot is kept: its executions' first step copies it to runs/<runId>/. */
export const scheduleSnapshotKey = (name: string) => `sagemaker/schedules/${name}/snapshot.json`;

/** Stores the schedule's snapshot (its pipeline's jobs read it). */
export async function storeScheduleSnapshot(store: ArtifactStore, name: string, snapshot: Snapshot): Promise<void> {
  await store.write(scheduleSnapshotKey(name), serializeSnapshot(snapshot));
}

export async function createSchedule(clients: AwsClients, config: SageMakerOrchestratorConfig, name: string, pipelineArn: string, snapshot: Snapshot, when: Schedule): Promise<{ id: string }> {
  const request = scheduleRequest(config, name, pipelineArn, snapshot, when);
  const { client, sdk } = await clients.scheduler();
  for (let attempt = 0; ; attempt++) {
    try {
      await client.send(new sdk.CreateScheduleCommand({ ...request, ClientToken: sha256(JSON.stringify(request)).slice(0, 64) }));
      return { id: request.Name };
    } catch (error) {
      // The same pipeline on the same schedule: replace it.
      if ((error as { name?: string }).name === "ConflictException" && attempt < 2) {
        await client.send(new sdk.DeleteScheduleCommand({ Name: request.Name, GroupName: SCHEDULE_GROUP })).catch(() => {});
        continue;
      }
      throw awsError(`CreateSchedule ${request.Name}`, error);
    }
  }
}

/** Deletes the EventBridge schedule, then its SageMaker pipeline and stored snapshot (runs it started keep theirs). */
export async function deleteSchedule(clients: AwsClients, store: ArtifactStore, id: string): Promise<void> {
  const { client, sdk } = await clients.scheduler();
  try {
    await client.send(new sdk.DeleteScheduleCommand({ Name: id, GroupName: SCHEDULE_GROUP }));
  } catch (error) {
    if (isNotFound(error)) throw new OrchError("E_USAGE", { flavor: FLAVOR, message: `No schedule "${id}" in EventBridge Scheduler group ${SCHEDULE_GROUP}.`, hint: "List schedules with orch schedule list." });
    throw awsError(`DeleteSchedule ${id}`, error);
  }
  const sagemaker = await clients.sagemaker();
  try {
    await sagemaker.client.send(new sagemaker.sdk.DeletePipelineCommand({ PipelineName: id, ClientRequestToken: sha256(`delete ${id}`).slice(0, 64) }));
  } catch (error) {
    if (!isNotFound(error)) throw awsError(`DeletePipeline ${id}`, error);
  }
  await store.delete(`sagemaker/schedules/${id}/`);
}

/** orch's schedules (those whose description says so), with their expressions. */
export async function listSchedules(clients: AwsClients): Promise<{ id: string; pipeline: string; schedule: string }[]> {
  const { client, sdk } = await clients.scheduler();
  const names: string[] = [];
  try {
    for await (const page of sdk.paginateListSchedules({ client }, { GroupName: SCHEDULE_GROUP })) {
      names.push(...(page.Schedules ?? []).map((s) => s.Name!).filter(Boolean));
    }
    const found: { id: string; pipeline: string; schedule: string }[] = [];
    for (const name of names) {
      const schedule = await client.send(new sdk.GetScheduleCommand({ Name: name, GroupName: SCHEDULE_GROUP }));
      if (!schedule.Description?.startsWith(DESCRIPTION_PREFIX)) continue;
      found.push({ id: name, pipeline: schedule.Description.slice(DESCRIPTION_PREFIX.length), schedule: `${schedule.ScheduleExpression}${schedule.ScheduleExpressionTimezone ? ` (${schedule.ScheduleExpressionTimezone})` : ""}` });
    }
    return found;
  } catch (error) {
    throw awsError("ListSchedules", error);
  }
}
