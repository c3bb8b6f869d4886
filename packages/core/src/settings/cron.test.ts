import { describe, expect, it } from "vitest";
import { intervalToCron, isValidCron, nextCronTimes, parseCron, toAwsCron, toKfpCron, toKubernetesCron, toQuartzCron } from "./cron.js";

const scheduleError = (message: string) =>
  expect.objectContaining({ code: "E_SCHEDULE_INVALID", message: expect.stringContaining(message), hint: expect.any(String) });

describe("parseCron", () => {
  it.each(["*/15 * * * *", "0 9-17/2 * * MON-FRI", "0 0 1,15 JAN,jul *", "0 0 * * 0-7", "0 0 * * fri-sun", "  0   2 * * *  "])(
    "accepts %j",
    (expr) => {
      expect(isValidCron(expr)).toBe(true);
    },
  );

  it.each([
    ["@yearly", "0 0 1 1 *"],
    ["@annually", "0 0 1 1 *"],
    ["@monthly", "0 0 1 * *"],
    ["@weekly", "0 0 * * 0"],
    ["@daily", "0 0 * * *"],
    ["@midnight", "0 0 * * *"],
    ["@hourly", "0 * * * *"],
  ])("expands %s to %j", (macro, expression) => {
    expect(parseCron(macro).expression).toBe(expression);
  });

  it.each([
    ["0 25 * * *", "hour 25 is out of range 0-23"],
    ["60 * * * *", "minute 60 is out of range 0-59"],
    ["0 0 32 * *", "day-of-month 32 is out of range 1-31"],
    ["0 0 * 13 *", "month 13 is out of range 1-12"],
    ["0 0 * * 8", "day-of-week 8 is out of range 0-7"],
    ["0 0 0 * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"],
    ["0 0 12 * * ? 2025", "expected 5 fields (minute hour day-of-month month day-of-week), got 7"],
    ["0 0 * * FOO", 'day-of-week "FOO" is not a number (0-7), a name (SUN-SAT), a range, a step or a list'],
    ["MON * * * *", 'minute "MON" is not a number (0-59), a range'],
    ["0 0 L * *", 'day-of-month "L" is not a number'],
    ["*/0 * * * *", 'minute step "0" in "*/0" must be a whole number of at least 1'],
    ["*/61 * * * *", 'minute step 61 in "*/61" is larger than the field\'s 60 values'],
    ["0 5-2 * * *", 'hour range "5-2" runs backwards'],
    ["5/15 * * * *", 'minute "5/15" needs "*" or a range before "/", e.g. "5-59/15"'],
    ["0 0 1,,2 * *", 'day-of-month "1,,2" has an empty list element'],
    ["@reboot", "@reboot has no meaning for a pipeline schedule"],
    ["@fortnightly", "unknown macro @fortnightly"],
    ["0 0 31 2 *", "it never matches a date"],
    ["", "the expression is empty"],
  ])("rejects %j: %s", (expr, detail) => {
    expect(() => parseCron(expr)).toThrow(scheduleError(`Invalid cron "${expr}": ${detail}`));
    expect(isValidCron(expr)).toBe(false);
  });
});

describe("cron dialects", () => {
  it.each([
    // expr                  Quartz (Databricks)       AWS EventBridge             KFP (robfig)
    ["0 2 * * *", "0 0 2 * * ?", "0 2 * * ? *", "0 0 2 * * *"],
    ["30 2 * * MON-FRI", "0 30 2 ? * MON-FRI", "30 2 ? * MON-FRI *", "0 30 2 * * MON-FRI"],
    ["0 0 * * sat,sun", "0 0 0 ? * SAT,SUN", "0 0 ? * SAT,SUN *", "0 0 0 * * SAT,SUN"],
    ["*/15 9-17 * * 1-5", "0 */15 9-17 ? * 2-6", "*/15 9-17 ? * 2-6 *", "0 */15 9-17 * * 1-5"],
    ["0 0 * * 0", "0 0 0 ? * 1", "0 0 ? * 1 *", "0 0 0 * * 0"],
    ["0 0 * * 7", "0 0 0 ? * 1", "0 0 ? * 1 *", "0 0 0 * * 0"],
    ["0 0 * * 5-7", "0 0 0 ? * 1,6,7", "0 0 ? * 1,6,7 *", "0 0 0 * * 0,5,6"],
    ["0 0 * * fri-sun", "0 0 0 ? * 1,6,7", "0 0 ? * 1,6,7 *", "0 0 0 * * 0,5,6"],
    ["0 0 * * */2", "0 0 0 ? * 1,3,5,7", "0 0 ? * 1,3,5,7 *", "0 0 0 * * 0,2,4,6"],
    ["0 0 * * 1-5/2", "0 0 0 ? * 2,4,6", "0 0 ? * 2,4,6 *", "0 0 0 * * 1,3,5"],
    ["0 0 1 jan *", "0 0 0 1 JAN ?", "0 0 1 JAN ? *", "0 0 0 1 JAN *"],
    ["0 0 */2 * *", "0 0 0 */2 * ?", "0 0 */2 * ? *", "0 0 0 */2 * *"],
    ["@weekly", "0 0 0 ? * 1", "0 0 ? * 1 *", "0 0 0 * * 0"],
  ])("converts %j to Quartz %j, AWS %j and KFP %j", (expr, quartz, aws, kfp) => {
    expect(toQuartzCron(expr)).toBe(quartz);
    expect(toAwsCron(expr)).toBe(aws);
    expect(toKfpCron(expr)).toBe(kfp);
  });

  it.each([
    ["Quartz (Databricks)", toQuartzCron],
    ["AWS EventBridge", toAwsCron],
  ] as const)("%s refuses restricting both day fields, which Unix ORs", (dialect, convert) => {
    for (const expr of ["0 0 1 * MON", "0 0 */2 * 1", "0 0 1-7 * 1"]) {
      expect(() => convert(expr)).toThrow(
        expect.objectContaining({
          code: "E_CRON_UNSUPPORTED",
          message: expect.stringContaining(`${dialect} cron cannot express "${expr}": it restricts both day-of-month`),
          hint: expect.stringContaining("Restrict only one day field"),
        }),
      );
    }
  });

  it.each([
    ["0 0 1 * MON", "0 0 0 1 * MON"],
    // robfig/cron v1 would treat "*/2" as unrestricted and AND the day fields; the explicit range keeps OR.
    ["0 0 */2 * 1", "0 0 0 1-31/2 * 1"],
  ])("KFP keeps both day fields of %j, as robfig ORs them like Unix", (expr, kfp) => {
    expect(toKfpCron(expr)).toBe(kfp);
  });

  it("rejects invalid input in every dialect with E_SCHEDULE_INVALID", () => {
    for (const convert of [toQuartzCron, toAwsCron, toKfpCron]) {
      expect(() => convert("0 25 * * *")).toThrow(scheduleError("hour 25 is out of range 0-23"));
    }
  });
});

describe("toKubernetesCron (CronJob spec.schedule)", () => {
  it.each([
    ["@daily", "0 0 * * *"],
    ["@hourly", "0 * * * *"],
    ["@weekly", "0 0 * * 0"],
    ["@yearly", "0 0 1 1 *"],
    // Sunday is 0 in robfig/cron v3 (7 is out of its range), so 7 and SUN-ending ranges are renumbered.
    ["30 2 * * 7", "30 2 * * 0"],
    ["0 0 * * 5-7", "0 0 * * 0,5,6"],
    ["0 0 * * fri-sun", "0 0 * * 0,5,6"],
    // Ranges, steps and names that robfig reads as Unix does pass through.
    ["*/15 9-17 * * 1-5", "*/15 9-17 * * 1-5"],
    ["0 9-17/2 * * MON-FRI", "0 9-17/2 * * MON-FRI"],
    ["0 0 1,15 jan,jul *", "0 0 1,15 JAN,JUL *"],
    ["0 0 * * */2", "0 0 * * 0,2,4,6"],
    ["  0   2 * * *  ", "0 2 * * *"],
    // Both day fields restricted: robfig ORs them like Unix; a "*"-based day-of-month is spelled as a range.
    ["0 0 1 * MON", "0 0 1 * MON"],
    ["0 0 */2 * 1", "0 0 1-31/2 * 1"],
  ])("converts %j to %j", (expr, kubernetes) => {
    expect(toKubernetesCron(expr)).toBe(kubernetes);
    // The same fields KFP gets, without its seconds field.
    expect(toKfpCron(expr)).toBe(`0 ${kubernetes}`);
  });

  it.each([
    ["0 0 2 * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"],
    ["CRON_TZ=Europe/Berlin 0 2 * * *", "expected 5 fields"],
    ["0 0 L * *", 'day-of-month "L" is not a number'],
    ["5/15 * * * *", 'minute "5/15" needs "*" or a range before "/"'],
    ["0 0 31 2 *", "it never matches a date"],
  ])("refuses %j (seconds, a timezone prefix, Quartz extensions) with E_SCHEDULE_INVALID", (expr, detail) => {
    expect(() => toKubernetesCron(expr)).toThrow(scheduleError(`Invalid cron "${expr}": ${detail}`));
  });
});

describe("intervalToCron", () => {
  it.each([
    [60, "* * * * *"],
    [300, "*/5 * * * *"],
    [900, "*/15 * * * *"],
    [1800, "*/30 * * * *"],
    [3600, "0 * * * *"],
    [6 * 3600, "0 */6 * * *"],
    [12 * 3600, "0 */12 * * *"],
    [86_400, "0 0 * * *"],
  ])("turns every %i seconds into %j", (seconds, cron) => {
    expect(intervalToCron(seconds)).toBe(cron);
    expect(isValidCron(cron)).toBe(true);
  });

  it.each([
    [45, "not a whole number of minutes"],
    [90, "not a whole number of minutes"],
    [7 * 60, "dividing an hour"],
    [90 * 60, "dividing an hour"],
    [5 * 3600, "of hours dividing a day"],
    [2 * 86_400, "or one day"],
    [7 * 86_400, "or one day"],
  ])("refuses %i seconds, which cron cannot repeat evenly", (seconds, detail) => {
    expect(() => intervalToCron(seconds, "A Kubernetes CronJob")).toThrow(
      expect.objectContaining({
        code: "E_CRON_UNSUPPORTED",
        message: expect.stringMatching(new RegExp(`^A Kubernetes CronJob cannot repeat intervalSeconds: ${seconds} evenly: .*${detail}`)),
        hint: expect.stringContaining("900 = every 15 minutes"),
      }),
    );
  });
});

describe("nextCronTimes", () => {
  const from = new Date("2025-01-01T00:00:00Z");
  const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

  it("lists fire times strictly after `from`", () => {
    expect(iso(nextCronTimes("0 2 * * *", from, 3, "UTC"))).toEqual([
      "2025-01-01T02:00:00.000Z",
      "2025-01-02T02:00:00.000Z",
      "2025-01-03T02:00:00.000Z",
    ]);
    expect(iso(nextCronTimes("0 0 * * *", from, 1, "UTC"))).toEqual(["2025-01-02T00:00:00.000Z"]);
  });

  it("evaluates the expression in the given timezone", () => {
    expect(iso(nextCronTimes("0 2 * * *", from, 1, "Europe/Berlin"))).toEqual(["2025-01-01T01:00:00.000Z"]);
  });

  it("fires when either restricted day field matches, like Unix cron", () => {
    // Mondays in January 2025, or the 1st of February (a Saturday).
    expect(iso(nextCronTimes("0 0 1 * MON", from, 5, "UTC"))).toEqual([
      "2025-01-06T00:00:00.000Z",
      "2025-01-13T00:00:00.000Z",
      "2025-01-20T00:00:00.000Z",
      "2025-01-27T00:00:00.000Z",
      "2025-02-01T00:00:00.000Z",
    ]);
  });

  it("rejects an unknown timezone", () => {
    expect(() => nextCronTimes("0 2 * * *", from, 1, "Mars/Olympus")).toThrow(scheduleError('Invalid timezone "Mars/Olympus"'));
  });
});
