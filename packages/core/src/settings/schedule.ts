import { z } from "zod";
import { OrchError } from "../errors.js";
import { parseCron } from "./cron.js";
import { isValidTimezone } from "./timezone.js";

// Instants must carry "Z" or an offset: a bare local time would mean different moments on a laptop and on
// the orchestrator. They are stored as UTC ISO strings so snapshots stay byte-identical.
const INSTANT_ERROR = 'expected an ISO 8601 date-time with "Z" or an offset, e.g. "2025-01-01T02:00:00Z", or a Date';
const instant = z
  .union([z.iso.datetime({ offset: true, error: INSTANT_ERROR }), z.date()], { error: INSTANT_ERROR })
  .transform((value) => new Date(value).toISOString());

const TRIGGERS = ["cron", "intervalSeconds", "runOnceAt"] as const;

/** When a pipeline runs on its own: exactly one of `cron`, `intervalSeconds` or `runOnceAt`. */
export const ScheduleSchema = z
  .object({
    cron: z
      .string()
      .superRefine((value, ctx) => {
        try {
          parseCron(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      })
      .optional()
      .describe('5-field Unix cron, e.g. "0 2 * * *" (daily at 02:00) or "@hourly".'),
    intervalSeconds: z.number().int().positive().optional().describe("Run every N seconds."),
    runOnceAt: instant.optional().describe("Run once at this instant."),
    startTime: instant.optional().describe("No runs before this instant."),
    endTime: instant.optional().describe("No runs after this instant."),
    catchup: z.boolean().default(false).describe("Run the intervals missed while the schedule was paused or down."),
    timezone: z
      .string()
      .refine(isValidTimezone, { error: (issue) => `unknown timezone "${String(issue.input)}"; use an IANA name such as "Europe/Berlin"` })
      .optional()
      .describe('IANA timezone the cron is evaluated in, e.g. "Europe/Berlin"; defaults to UTC on remote orchestrators.'),
    allowOverlap: z.boolean().default(false).describe("Start a run even if the previous one is still running."),
  })
  .strict()
  .superRefine((schedule, ctx) => {
    const given = TRIGGERS.filter((key) => schedule[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `a schedule needs exactly one of cron, intervalSeconds or runOnceAt; got ${given.length === 0 ? "none" : given.join(" and ")}`,
      });
    }
    if (schedule.startTime !== undefined && schedule.endTime !== undefined && schedule.endTime <= schedule.startTime) {
      ctx.addIssue({
        code: "custom",
        path: ["endTime"],
        message: `endTime (${schedule.endTime}) must be after startTime (${schedule.startTime})`,
      });
    }
  })
  .describe("Schedule on which the orchestrator runs the pipeline.");

/** A validated schedule; instants are UTC ISO strings. */
export type Schedule = z.output<typeof ScheduleSchema>;
/** A schedule as the user writes it (instants may be Dates). */
export type ScheduleInput = z.input<typeof ScheduleSchema>;

/** Which trigger a validated schedule uses. */
export function scheduleKind(schedule: Pick<Schedule, "cron" | "intervalSeconds" | "runOnceAt">): "cron" | "interval" | "once" {
  if (schedule.cron !== undefined) return "cron";
  if (schedule.intervalSeconds !== undefined) return "interval";
  if (schedule.runOnceAt !== undefined) return "once";
  throw new OrchError("E_SCHEDULE_INVALID", {
    message: "Schedule has none of cron, intervalSeconds or runOnceAt",
    hint: 'Set exactly one, e.g. { cron: "0 2 * * *" }.',
  });
}

/**
 * Refuses a schedule that can never start a run when it is created at `now`: `runOnceAt` in the past,
 * `endTime` already over. (Not part of the schema: compiling must not depend on the clock.)
 */
export function assertScheduleHasFuture(schedule: Pick<Schedule, "runOnceAt" | "endTime" | "startTime">, pipeline: string, now = new Date()): void {
  if (schedule.runOnceAt !== undefined && Date.parse(schedule.runOnceAt) <= now.getTime()) {
    throw new OrchError("E_SCHEDULE_INVALID", {
      key: "runOnceAt",
      message: `The schedule of pipeline "${pipeline}" has runOnceAt ${schedule.runOnceAt}, which is in the past (now ${now.toISOString()}), so it would never run.`,
      hint: "Set runOnceAt to a future instant, or run the pipeline now with: orch pipeline run FILE --now",
    });
  }
  if (schedule.endTime !== undefined && Date.parse(schedule.endTime) <= now.getTime()) {
    throw new OrchError("E_SCHEDULE_INVALID", {
      key: "endTime",
      message: `The schedule of pipeline "${pipeline}" has endTime ${schedule.endTime}, which is in the past (now ${now.toISOString()}), so it would never run.`,
      hint: "Move endTime into the future or remove it.",
    });
  }
}

/** Whether a schedule can still start runs at `now` (false once endTime has passed). */
export function scheduleIsOver(schedule: Pick<Schedule, "endTime">, now = new Date()): boolean {
  return schedule.endTime !== undefined && Date.parse(schedule.endTime) <= now.getTime();
}
