/**
 * Schedules as EventBridge Scheduler schedules: the expression in AWS's dialect (core's cron
 * conversion, rate(), at()), created, listed and deleted in the loopback Scheduler; and a fired
 * schedule's execution really runs, named after the execution, its journal laid out by the first step.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { ScheduleSchema, isOrchError, readRunRecord, readStepRecords } from "@orch/core/plugin";
import { atExpression, rateExpression, scheduleExpression } from "./schedules.js";
import { scheduledRunId } from "./scheduled-step.js";
import { definitionProblems } from "../test/check-definition.js";
import { createHarness, until, type Harness } from "../test/harness.js";
import { nightly, quickstart } from "../test/fixtures/project/src/pipeline.js";

const projectRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ projectRoot });
}, 60_000);
afterAll(() => h?.close());

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isOrchError(error)) return error;
    throw error;
  }
  throw new Error("expected an OrchError");
}

describe("schedule expressions", () => {
  it("converts cron to AWS's 6 fields with ? and a year, intervals to rate(), one run to at()", () => {
    expect(scheduleExpression(ScheduleSchema.parse({ cron: "0 2 * * *" }))).toBe("cron(0 2 * * ? *)");
    expect(scheduleExpression(ScheduleSchema.parse({ cron: "30 2 * * 1-5" }))).toBe("cron(30 2 ? * 2-6 *)");
    expect(scheduleExpression(ScheduleSchema.parse({ cron: "0 0 1 * *" }))).toBe("cron(0 0 1 * ? *)");
    expect(rateExpression(60)).toBe("rate(1 minute)");
    expect(rateExpression(900)).toBe("rate(15 minutes)");
    expect(rateExpression(3600)).toBe("rate(1 hour)");
    expect(rateExpression(7200)).toBe("rate(2 hours)");
    expect(rateExpression(86_400)).toBe("rate(1 day)");
    expect(rateExpression(90 * 60)).toBe("rate(90 minutes)");
    expect(atExpression("2030-01-02T03:04:05Z")).toBe("at(2030-01-02T03:04:05)");
    expect(atExpression("2030-01-02T03:04:05Z", "Europe/Berlin")).toBe("at(2030-01-02T04:04:05)");
  });

  it("refuses what EventBridge cannot express: seconds in an interval, both day fields, catchup", async () => {
    expect(() => rateExpression(90)).toThrow(/whole minutes/);
    try {
      scheduleExpression(ScheduleSchema.parse({ cron: "0 2 1 * 1" }));
      throw new Error("expected a refusal");
    } catch (error) {
      expect(isOrchError(error) && error.code).toBe("E_CRON_UNSUPPORTED");
    }
    const snapshot = compilePipeline(quickstart, { rows: 2 }, { projectRoot }).snapshot;
    const error = await refusal(h.runtime().schedule!(snapshot, ScheduleSchema.parse({ cron: "0 2 * * *", catchup: true })));
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toContain("catchup");
    expect(h.aws.calls.filter((c) => c.startsWith("SageMaker.Create") || c === "Scheduler.CreateSchedule")).toEqual([]);
  });
});

describe("schedules on EventBridge Scheduler", () => {
  it("creates, lists and deletes a cron schedule with its timezone; a fired execution runs as its own orch run", async () => {
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(nightly, { rows: 4 }, { projectRoot });
    const { id } = await runtime.schedule!(snapshot, snapshot.pipeline.schedule!);
    const schedule = [...h.aws.schedules.values()].find((s) => s.Name === id)!;
    expect(schedule.ScheduleExpression).toBe("cron(30 2 ? * 2-6 *)");
    expect(schedule.ScheduleExpressionTimezone).toBe("Europe/Berlin");
    expect(schedule.FlexibleTimeWindow).toEqual({ Mode: "OFF" });
    expect(schedule.Target.RoleArn).toBe(h.config.executionRole);
    expect(schedule.Target.SageMakerPipelineParameters.PipelineParameterList).toEqual([{ Name: "rows", Value: "4" }]);
    // The target is the schedule's own pipeline, whose jobs run orch-sagemaker-scheduled-step.
    const pipeline = h.aws.pipelines.get(id)!;
    expect(schedule.Target.Arn).toBe(pipeline.arn);
    const definition = JSON.parse(pipeline.definition);
    expect(definitionProblems(definition)).toEqual([]);
    expect(definition.Steps[0].Arguments.Environment.ORCH_SAGEMAKER_EXECUTION_ARN).toEqual({ Get: "Execution.PipelineExecutionArn" });

    expect(await runtime.listSchedules!()).toEqual([{ id, pipeline: "nightly", schedule: "cron(30 2 ? * 2-6 *) (Europe/Berlin)" }]);

    // EventBridge fires: the execution runs every step; the run is named after the execution.
    const execution = await h.aws.fire(id);
    const runId = scheduledRunId(execution.arn);
    const run = await until(async () => {
      const record = await readRunRecord(h.store, runId);
      return record && record.status !== "running" ? record : undefined;
    }, "the scheduled run to finish", 90_000);
    expect(run.status).toBe("succeeded");
    expect(run.orchestrator).toBe("sagemaker");
    expect((await readStepRecords(h.store, runId)).map((r) => [r.stepId, r.status]).sort()).toEqual([["evaluate", "succeeded"], ["load_data", "succeeded"], ["train", "succeeded"]]);
    expect(await runtime.status!(runId)).toBe("succeeded");

    await runtime.deleteSchedule!(id);
    expect(await runtime.listSchedules!()).toEqual([]);
    expect(h.aws.pipelines.has(id)).toBe(false);
    const again = await refusal(runtime.deleteSchedule!(id));
    expect(again.code).toBe("E_USAGE");
    expect(again.message).toContain(id);
  }, 120_000);

  it("creates interval and run-once schedules: rate() and at() that deletes itself after the run", async () => {
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 2 }, { projectRoot });
    const interval = await runtime.schedule!(snapshot, ScheduleSchema.parse({ intervalSeconds: 1800, startTime: "2030-01-01T00:00:00Z", endTime: "2031-01-01T00:00:00Z" }));
    const once = await runtime.schedule!(snapshot, ScheduleSchema.parse({ runOnceAt: "2030-06-01T12:00:00Z", timezone: "America/New_York" }));
    const byId = (id: string) => [...h.aws.schedules.values()].find((s) => s.Name === id)!;
    expect(byId(interval.id).ScheduleExpression).toBe("rate(30 minutes)");
    expect(byId(interval.id).StartDate).toBe(Date.parse("2030-01-01T00:00:00Z") / 1000);
    expect(byId(interval.id).EndDate).toBe(Date.parse("2031-01-01T00:00:00Z") / 1000);
    expect(byId(once.id).ScheduleExpression).toBe("at(2030-06-01T08:00:00)");
    expect(byId(once.id).ScheduleExpressionTimezone).toBe("America/New_York");
    expect(byId(once.id).ActionAfterCompletion).toBe("DELETE");
    expect(interval.id).not.toBe(once.id);
    expect((await runtime.listSchedules!()).map((s) => s.id).sort()).toEqual([interval.id, once.id].sort());
    await runtime.deleteSchedule!(interval.id);
    await runtime.deleteSchedule!(once.id);
  }, 60_000);
});
