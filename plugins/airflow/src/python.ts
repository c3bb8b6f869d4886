/**
 * Python source for values: literals (str, int, float, bool, None, dict, list) and calls, laid out the
 * way black would (one argument per line with a trailing comma when a line would be long), so the DAG
 * file reads like one a person wrote and is byte-identical for the same input.
 */

/** Python source the writer inserts verbatim (an expression: a name, a call). */
export class Py {
  constructor(readonly code: string) {}
}
export const py = (code: string) => new Py(code);

export type PyValue = Py | string | number | boolean | null | undefined | PyValue[] | { [key: string]: PyValue };

const LINE = 100;

/** A str literal: JSON's escapes are Python's, so JSON.stringify is a faithful Python string literal. */
export function pyString(value: string): string {
  return JSON.stringify(value);
}

/** The value as Python source, indented by `indent` spaces when it has to span lines. */
export function pyValue(value: PyValue, indent = 0): string {
  if (value instanceof Py) return value.code;
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} as a Python literal`);
    return String(value);
  }
  if (typeof value === "string") return pyString(value);
  if (Array.isArray(value)) return wrap("[", "]", value.map((item) => (inner: number) => pyValue(item, inner)), indent);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return wrap("{", "}", entries.map(([k, v]) => (inner: number) => `${pyString(k)}: ${pyValue(v, inner)}`), indent);
}

/** `name(key=value, …)`: keyword arguments in the given order; undefined values are left out. */
export function pyCall(name: string, kwargs: Record<string, PyValue>, indent = 0): string {
  const entries = Object.entries(kwargs).filter(([, v]) => v !== undefined);
  return wrap(`${name}(`, ")", entries.map(([k, v]) => (inner: number) => `${k}=${pyValue(v, inner)}`), indent);
}

function wrap(open: string, close: string, parts: ((indent: number) => string)[], indent: number): string {
  if (parts.length === 0) return `${open}${close}`;
  const flat = `${open}${parts.map((part) => part(0)).join(", ")}${close}`;
  if (!flat.includes("\n") && indent + flat.length <= LINE) return flat;
  const inner = indent + 4;
  const pad = " ".repeat(inner);
  return `${open}\n${parts.map((part) => `${pad}${part(inner)},\n`).join("")}${" ".repeat(indent)}${close}`;
}

const KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type print".split(" "),
);

/**
 * A Python identifier for each id, readable (the id itself where it can be) and unique: "-" becomes
 * "_", keywords and `reserved` names get a "_task" suffix, clashes a number.
 */
export function pyIdentifiers(ids: readonly string[], reserved: ReadonlySet<string>): Map<string, string> {
  const taken = new Set(reserved);
  const result = new Map<string, string>();
  for (const id of ids) {
    let base = id.replace(/[^A-Za-z0-9_]/g, "_");
    if (/^\d/.test(base)) base = `_${base}`;
    if (KEYWORDS.has(base) || taken.has(base)) base = `${base}_task`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    result.set(id, name);
  }
  return result;
}
