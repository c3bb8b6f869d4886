/**
 * Unknown parameters are refused, not dropped: zod's default `z.object` strips keys it does not know,
 * so `--param trees=5` for a pipeline whose parameter is `nTrees` would silently run with the default.
 * With a params schema the known keys are the schema's; without one, a static pipeline's known keys
 * are the ones its function reads while compiling (tracked with a Proxy), and a pipeline function that
 * declares no parameter knows none.
 */
import type { z } from "zod";
import { OrchError } from "../errors.js";
import { closestMatch } from "../suggest.js";

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; catchall?: z.ZodType; options?: z.ZodType[]; left?: z.ZodType; right?: z.ZodType };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(["optional", "default", "nullable", "prefault", "readonly", "catch", "nonoptional"]);

/**
 * The keys a params schema knows, or undefined when it accepts any key: a record, `z.any()`,
 * `z.looseObject` / `.passthrough()` / `.catchall()` (the author asked for extra keys).
 */
export function schemaParamKeys(schema: z.ZodType): string[] | undefined {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else break;
  }
  const def = defOf(current);
  if (def.type === "object") {
    if (def.catchall && defOf(def.catchall).type !== "never") return undefined;
    return Object.keys(def.shape ?? {});
  }
  if (def.type === "union" && def.options) return union(def.options.map(schemaParamKeys));
  if (def.type === "intersection" && def.left && def.right) return union([schemaParamKeys(def.left), schemaParamKeys(def.right)]);
  return undefined;
}

function union(sets: (string[] | undefined)[]): string[] | undefined {
  return sets.some((s) => s === undefined) ? undefined : [...new Set(sets.flat() as string[])];
}

/** `() => …`, `async () => …`, `function () {…}`: a pipeline function that takes no parameters at all. */
export function declaresNoParams(fn: (...args: never[]) => unknown): boolean {
  if (fn.length > 0) return false;
  // fn.length is also 0 for `(p = {}) => …` and `(...args) => …`, so look at the source text.
  return /^(async\s*)?(\(\s*\)|function\s*\*?\s*[\w$]*\s*\(\s*\))/.test(fn.toString().trim());
}

/** Refuses the first of `unknown` keys with the closest known key as "did you mean". */
export function refuseUnknownParams(pipelineName: string, unknown: string[], known: string[]): void {
  if (!unknown.length) return;
  const key = unknown[0]!;
  const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 79)}…` : key);
  if (!known.length) {
    throw new OrchError("E_PARAMS_INVALID", {
      key,
      message: `Pipeline "${pipelineName}" takes no parameters, but got ${shown}${unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : ""}.`,
      hint: `Remove the parameter, or declare it: pipeline({ name: "${pipelineName}", params: z.object({ … }) }, (p) => …).`,
    });
  }
  const match = closestMatch(key, known, { maxDistance: Math.max(2, Math.floor(key.length / 3)), normalize: (k) => k.toLowerCase().replace(/[-_]/g, "") });
  throw new OrchError("E_PARAMS_INVALID", {
    key,
    message: `Unknown parameter ${shown} for pipeline "${pipelineName}"${unknown.length > 1 ? ` (and ${unknown.length - 1} more: ${unknown.slice(1, 4).join(", ")})` : ""}.`,
    hint: `${match ? `Did you mean "${match}"? ` : ""}Its parameters: ${known.join(", ")}.`,
  });
}

/** Property reads that are not a parameter (runtime probes of any object). */
const NOT_PARAMETERS = new Set(["then", "toJSON", "constructor", "valueOf", "toString", "inspect", "asymmetricMatch", "$$typeof", "nodeType"]);

/**
 * Wraps a static pipeline's parameters to learn which keys its function reads. Enumerating the object
 * (spread, rest destructuring, Object.keys, JSON.stringify) counts as reading every key.
 */
export function trackParamReads(params: Record<string, unknown>): { params: Record<string, unknown>; unread(): string[]; read(): string[] } {
  const read = new Set<string>();
  let enumerated = false;
  const proxy = new Proxy(params, {
    get(target, key, receiver) {
      if (typeof key === "string") read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === "string") read.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === "string") read.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
  return {
    params: proxy,
    unread: () => (enumerated ? [] : Object.keys(params).filter((k) => !read.has(k))),
    read: () => [...read].filter((k) => !NOT_PARAMETERS.has(k)),
  };
}
