import { OrchError } from "../errors.js";

/** The five fields of a Unix cron expression, in order. */
export type CronFieldName = "minute" | "hour" | "day-of-month" | "month" | "day-of-week";

/** One comma-separated element of a field: `*`, `5`, `1-5`, `*\/15`, `MON-FRI/2`. */
export interface CronItem {
  /** The element as written. */
  source: string;
  /** True for `*` (optionally stepped); such items cover the field's whole range. */
  star: boolean;
  start: number;
  end: number;
  step: number;
  /** True when the element was written only with names (`MON`, `JAN-MAR`). */
  named: boolean;
}

/** A parsed field, keeping the written form (dialects pass most fields through unchanged). */
export interface CronField {
  name: CronFieldName;
  source: string;
  items: CronItem[];
  /** Every value the field matches, ascending; day-of-week 7 is folded into 0 (both Sunday). */
  values: number[];
}

/** A structurally valid 5-field Unix cron expression. */
export interface CronExpression {
  /** The expression as the user wrote it. */
  source: string;
  /** Five space-separated fields, with `@daily`-style macros expanded. */
  expression: string;
  minute: CronField;
  hour: CronField;
  dayOfMonth: CronField;
  month: CronField;
  dayOfWeek: CronField;
}

interface FieldSpec {
  name: CronFieldName;
  min: number;
  max: number;
  /** Accepted names; a name's value is its index plus `min`. */
  names?: readonly string[];
}

const FIELD_SPECS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  // 0-7 because Unix cron accepts both 0 and 7 for Sunday.
  { name: "day-of-week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const FIELD_HINT =
  'Use 5 fields "minute hour day-of-month month day-of-week", e.g. "30 2 * * MON-FRI" (02:30 on weekdays) ' +
  'or "*/15 * * * *" (every 15 minutes).';

/** An `E_SCHEDULE_INVALID` error that names the expression and what is wrong with it. */
export function invalidCron(expr: string, detail: string, hint: string = FIELD_HINT): OrchError {
  return new OrchError("E_SCHEDULE_INVALID", { message: `Invalid cron "${expr}": ${detail}`, hint });
}

/**
 * Parse a 5-field Unix cron expression (numbers, `a-b` ranges, `*\/n` and `a-b/n` steps, lists, JAN-DEC and
 * SUN-SAT names in any case, day-of-week 0-7) or one of `@yearly @annually @monthly @weekly @daily
 * @midnight @hourly`. This is syntax only; `parseCron` in cron.ts adds croner's check on top.
 * @throws OrchError `E_SCHEDULE_INVALID` naming the offending field.
 */
export function parseCronExpression(expr: string): CronExpression {
  const trimmed = typeof expr === "string" ? expr.trim() : "";
  if (trimmed === "") throw invalidCron(String(expr), "the expression is empty");

  let expression = trimmed.split(/\s+/).join(" ");
  if (expression.startsWith("@")) {
    const macro = MACROS[expression.toLowerCase()];
    if (macro === undefined) {
      const why = expression.toLowerCase() === "@reboot" ? "@reboot has no meaning for a pipeline schedule" : `unknown macro ${expression}`;
      throw invalidCron(expr, why, `Use 5 cron fields or one of ${Object.keys(MACROS).join(", ")}.`);
    }
    expression = macro;
  }

  const texts = expression.split(" ");
  if (texts.length !== FIELD_SPECS.length) {
    throw invalidCron(
      expr,
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${texts.length}`,
      `Seconds and year fields are not part of Unix cron; orch adds what each orchestrator needs. ${FIELD_HINT}`,
    );
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = FIELD_SPECS.map((spec, i) => parseField(spec, texts[i] ?? "", expr)) as [
    CronField, CronField, CronField, CronField, CronField,
  ];
  return { source: expr, expression, minute, hour, dayOfMonth, month, dayOfWeek };
}

function parseField(spec: FieldSpec, text: string, expr: string): CronField {
  const items = text.split(",").map((token) => parseItem(spec, token, text, expr));
  const values = new Set<number>();
  for (const item of items) {
    for (let v = item.start; v <= item.end; v += item.step) values.add(spec.name === "day-of-week" ? v % 7 : v);
  }
  return { name: spec.name, source: text, items, values: [...values].sort((a, b) => a - b) };
}

function parseItem(spec: FieldSpec, token: string, fieldText: string, expr: string): CronItem {
  const fail = (detail: string) => invalidCron(expr, `${spec.name} ${detail}`);
  if (token === "") throw fail(`"${fieldText}" has an empty list element`);

  const [base = "", stepText, extra] = token.split("/");
  if (extra !== undefined) throw fail(`"${token}" has more than one "/"`);
  let step = 1;
  if (stepText !== undefined) {
    step = /^\d+$/.test(stepText) ? Number(stepText) : 0;
    if (step < 1) throw fail(`step "${stepText}" in "${token}" must be a whole number of at least 1`);
    // croner rejects steps longer than the field (7 for day-of-week, where 0 and 7 are one day); say so
    // here with the field's name instead of croner's generic message.
    const slots = spec.name === "day-of-week" ? 7 : spec.max - spec.min + 1;
    if (step > slots) throw fail(`step ${step} in "${token}" is larger than the field's ${slots} values`);
  }

  if (base === "*") return { source: token, star: true, start: spec.min, end: spec.max, step, named: false };

  const bounds = base.split("-");
  if (bounds.length > 2) throw fail(`"${token}" is not a valid range`);
  const start = parseValue(spec, bounds[0] ?? "", token, fail);
  if (bounds.length === 1) {
    // "5/15" is a Quartz/robfig extension, not Unix cron; ask for the explicit range instead of guessing.
    if (stepText !== undefined) throw fail(`"${token}" needs "*" or a range before "/", e.g. "${base}-${spec.max}/${step}"`);
    return { source: token, star: false, start: start.value, end: start.value, step, named: start.named };
  }
  const end = parseValue(spec, bounds[1] ?? "", token, fail);
  // "FRI-SUN" means Friday to Sunday, so SUN closing a range is 7 rather than 0.
  if (spec.name === "day-of-week" && end.named && end.value === 0 && start.value > 0) end.value = 7;
  if (start.value > end.value) throw fail(`range "${token}" runs backwards (${start.value} > ${end.value})`);
  return { source: token, star: false, start: start.value, end: end.value, step, named: start.named && end.named };
}

function parseValue(
  spec: FieldSpec,
  text: string,
  token: string,
  fail: (detail: string) => OrchError,
): { value: number; named: boolean } {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) throw fail(`${value} is out of range ${spec.min}-${spec.max}`);
    return { value, named: false };
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return { value: index + spec.min, named: true };
  const kinds = spec.names ? `a number (${spec.min}-${spec.max}), a name (${spec.names[0]}-${spec.names.at(-1)})` : `a number (${spec.min}-${spec.max})`;
  throw fail(`"${token}" is not ${kinds}, a range, a step or a list`);
}
