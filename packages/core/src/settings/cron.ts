import { Cron } from "croner";
import { OrchError } from "../errors.js";
import { type CronExpression, type CronField, invalidCron, parseCronExpression } from "./cron-parser.js";
import { isValidTimezone } from "./timezone.js";

/**
 * Validate a 5-field Unix cron expression (or `@daily`-style macro) and return its parsed fields.
 * Our parser gives field-level messages; croner, which runs local schedules, must accept it too, and the
 * expression must match at least one date (`0 0 30 2 *` never fires).
 * @throws OrchError `E_SCHEDULE_INVALID`.
 */
export function parseCron(expr: string): CronExpression {
  const parsed = parseCronExpression(expr);
  let job: Cron;
  try {
    job = newCron(parsed.expression);
  } catch (error) {
    throw invalidCron(expr, (error as Error).message);
  }
  if (job.nextRun() === null) {
    throw invalidCron(expr, "it never matches a date", "Check that the day-of-month exists in the chosen month(s), e.g. February has at most 29 days.");
  }
  return parsed;
}

/** True when `parseCron` would accept `expr`. */
export function isValidCron(expr: string): boolean {
  try {
    parseCron(expr);
    return true;
  } catch {
    return false;
  }
}

/**
 * The next `count` fire times of `expr` strictly after `from`, evaluated in `timezone` (IANA; the host's
 * zone when omitted). Used by the local scheduler.
 * @throws OrchError `E_SCHEDULE_INVALID` for an invalid expression or timezone.
 */
export function nextCronTimes(expr: string, from: Date, count: number, timezone?: string): Date[] {
  const { expression } = parseCron(expr);
  if (timezone !== undefined && !isValidTimezone(timezone)) {
    throw new OrchError("E_SCHEDULE_INVALID", {
      message: `Invalid timezone "${timezone}" for cron "${expr}"`,
      hint: 'Use an IANA zone name such as "UTC" or "Europe/Berlin".',
    });
  }
  return newCron(expression, timezone).nextRuns(count, from);
}

/**
 * Quartz cron for Databricks: `sec min hour dom month dow`, seconds `0`, Sunday = 1 and `?` in whichever
 * day field is unrestricted. `"30 2 * * MON-FRI"` → `"0 30 2 ? * MON-FRI"`.
 * @throws OrchError `E_CRON_UNSUPPORTED` when both day-of-month and day-of-week are restricted.
 */
export function toQuartzCron(expr: string): string {
  const cron = parseCron(expr);
  const [dom, dow] = questionMarkDays(cron, "Quartz (Databricks)");
  return ["0", cron.minute.source, cron.hour.source, dom, cron.month.source.toUpperCase(), dow].join(" ");
}

/**
 * AWS EventBridge cron: `min hour dom month dow year`, year `*`, Sunday = 1 and `?` in whichever day field
 * is unrestricted. `"0 2 * * *"` → `"0 2 * * ? *"`.
 * @throws OrchError `E_CRON_UNSUPPORTED` when both day-of-month and day-of-week are restricted.
 */
export function toAwsCron(expr: string): string {
  const cron = parseCron(expr);
  const [dom, dow] = questionMarkDays(cron, "AWS EventBridge");
  return [cron.minute.source, cron.hour.source, dom, cron.month.source.toUpperCase(), dow, "*"].join(" ");
}

/**
 * KFP recurring-run cron (robfig/cron, seconds first, Sunday = 0, day-of-week 0-6):
 * `"0 2 * * 7"` → `"0 0 2 * * 0"`. robfig ORs restricted day fields like Unix, so nothing is refused.
 */
export function toKfpCron(expr: string): string {
  return ["0", ...robfigFields(parseCron(expr))].join(" ");
}

/**
 * A Kubernetes CronJob's `spec.schedule` (robfig/cron v3's standard parser: the 5 Unix fields, Sunday = 0,
 * day-of-week 0-6, macros expanded): `"30 2 * * 7"` → `"30 2 * * 0"`. The timezone is not part of it: it
 * goes into `spec.timeZone` (the API server refuses a `CRON_TZ=` prefix). Like Unix, robfig ORs two
 * restricted day fields, so every valid expression converts.
 * @throws OrchError `E_SCHEDULE_INVALID` for an invalid expression.
 */
export function toKubernetesCron(expr: string): string {
  return robfigFields(parseCron(expr)).join(" ");
}

/**
 * "Every `seconds`" as a 5-field Unix cron, for backends that only speak cron (a Kubernetes CronJob):
 * whole minutes dividing an hour, whole hours dividing a day, or one day — the intervals cron repeats
 * evenly (runs start on the clock's boundaries, e.g. :00, :15, :30, :45 for 900).
 * @throws OrchError `E_CRON_UNSUPPORTED` naming the interval when cron cannot repeat it evenly.
 */
export function intervalToCron(seconds: number, dialect = "cron"): string {
  const minutes = seconds / 60;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0) return minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`;
  const hours = seconds / 3600;
  if (Number.isInteger(hours) && hours >= 1 && hours < 24 && 24 % hours === 0) return hours === 1 ? "0 * * * *" : `0 */${hours} * * *`;
  if (seconds === 86_400) return "0 0 * * *";
  throw new OrchError("E_CRON_UNSUPPORTED", {
    message: `${dialect} cannot repeat intervalSeconds: ${seconds} evenly: it is not a whole number of minutes dividing an hour, of hours dividing a day, or one day.`,
    hint: 'Use such an interval (e.g. 900 = every 15 minutes, 21600 = every 6 hours), or a cron expression ("0 */6 * * *").',
  });
}

/** The 5 Unix fields in robfig/cron's numbering (KFP, Kubernetes): day-of-week 0-6, names kept. */
function robfigFields(cron: CronExpression): string[] {
  const dow = cron.dayOfWeek.source === "*" ? "*" : renderDayOfWeek(cron.dayOfWeek, (day) => day);
  return [cron.minute.source, cron.hour.source, robfigDayOfMonth(cron), cron.month.source.toUpperCase(), dow];
}

function newCron(expression: string, timezone?: string): Cron {
  // legacyMode = POSIX day matching: day-of-month and day-of-week are ORed when both are restricted.
  return new Cron(expression, { paused: true, legacyMode: true, ...(timezone === undefined ? {} : { timezone }) });
}

// Quartz and AWS require exactly one of day-of-month / day-of-week to be "?". That is only faithful when
// one of them is "*": Unix ORs two restricted fields, which these dialects cannot express.
function questionMarkDays(cron: CronExpression, dialect: string): [string, string] {
  const { dayOfMonth: dom, dayOfWeek: dow } = cron;
  if (dow.source === "*") return [dom.source, "?"];
  if (dom.source === "*") return ["?", renderDayOfWeek(dow, (day) => day + 1)];
  const fields = [cron.minute.source, cron.hour.source];
  throw new OrchError("E_CRON_UNSUPPORTED", {
    message:
      `${dialect} cron cannot express "${cron.source}": it restricts both day-of-month (${dom.source}) and ` +
      `day-of-week (${dow.source}), which Unix cron ORs, but ${dialect} needs one of them to be "?".`,
    hint:
      `Restrict only one day field, e.g. "${[...fields, dom.source, cron.month.source, "*"].join(" ")}" or ` +
      `"${[...fields, "*", cron.month.source, dow.source].join(" ")}", and use a second pipeline schedule for the other.`,
  });
}

// Names mean the same day in every dialect, so all-name fields pass through; anything numeric (or stepped,
// or a SUN-ending range that would wrap) becomes an explicit list in the target numbering.
function renderDayOfWeek(field: CronField, mapDay: (unixDay: number) => number): string {
  if (field.items.every((item) => item.named && item.step === 1 && item.end <= 6)) return field.source.toUpperCase();
  return compress([...new Set(field.values.map(mapDay))].sort((a, b) => a - b));
}

// robfig/cron v1 (used by KFP) treats any "*"-based day field, even "*/2", as unrestricted and then ANDs
// the day fields. Spell such items as explicit ranges so a restricted field keeps Unix's OR meaning.
function robfigDayOfMonth(cron: CronExpression): string {
  const field = cron.dayOfMonth;
  if (field.source === "*" || cron.dayOfWeek.source === "*") return field.source;
  return field.items.map((item) => (item.star ? `1-31${item.step > 1 ? `/${item.step}` : ""}` : item.source)).join(",");
}

/** `[1, 2, 3, 5, 7]` → `"1-3,5,7"`. */
function compress(values: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === (values[j] as number) + 1) j++;
    const first = values[i] as number;
    const last = values[j] as number;
    parts.push(j - i >= 2 ? `${first}-${last}` : j > i ? `${first},${last}` : `${first}`);
    i = j + 1;
  }
  return parts.join(",");
}
