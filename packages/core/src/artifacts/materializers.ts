import { OrchError } from "../errors.js";

/**
 * A materializer turns a step output into bytes and back. `json` and `bytes` are built in; class
 * instances need one registered by the user (a model, a data frame), because JSON would save their
 * fields and load a plain object without the methods.
 */
export interface Materializer<T = unknown> {
  /** Stable id stored with the artifact; loading looks the materializer up by it. */
  id: string;
  /** True for values this materializer saves. User materializers are asked before the built-ins. */
  canSave(value: unknown): boolean;
  save(value: T): Uint8Array | string | Promise<Uint8Array | string>;
  load(data: Uint8Array): T | Promise<T>;
}

export function defineMaterializer<T>(materializer: Materializer<T>): Materializer<T> {
  return Object.freeze({ ...materializer });
}

/** A materializer for instances of one class: the common case (`defineClassMaterializer(Model, …)`). */
export function defineClassMaterializer<T>(
  cls: abstract new (...args: never[]) => T,
  options: { id: string; save(value: T): Uint8Array | string | Promise<Uint8Array | string>; load(data: Uint8Array): T | Promise<T> },
): Materializer<T> {
  return defineMaterializer({ id: options.id, canSave: (value) => value instanceof cls, save: options.save, load: options.load });
}

const textDecoder = new TextDecoder();

export const jsonMaterializer = defineMaterializer<unknown>({
  id: "json",
  canSave: (value) => findUnserializable(value) === undefined,
  save: (value) => JSON.stringify(value === undefined ? null : value),
  load: (data) => JSON.parse(textDecoder.decode(data)),
});

export const bytesMaterializer = defineMaterializer<Uint8Array>({
  id: "bytes",
  canSave: (value) => value instanceof Uint8Array,
  save: (value) => value,
  // Buffers are Uint8Arrays; hand back a plain Uint8Array view so callers see the type they saved.
  load: (data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});

const userMaterializers: Materializer[] = [];

/** Registers a materializer for this process. Modules that define steps register theirs at import. */
export function registerMaterializer(materializer: Materializer<any>): void {
  const existing = userMaterializers.findIndex((m) => m.id === materializer.id);
  if (existing >= 0) userMaterializers.splice(existing, 1);
  userMaterializers.unshift(materializer as Materializer);
}

export function materializerById(id: string): Materializer | undefined {
  if (id === "json") return jsonMaterializer;
  if (id === "bytes") return bytesMaterializer;
  return userMaterializers.find((m) => m.id === id);
}

/** The materializer that saves `value`, or an error naming the step and output and how to fix it. */
export function pickMaterializer(value: unknown, where: { stepId: string; output: string }): Materializer {
  for (const m of userMaterializers) if (m.canSave(value)) return m;
  if (bytesMaterializer.canSave(value)) return bytesMaterializer as Materializer;
  const problem = findUnserializable(value);
  if (problem === undefined) return jsonMaterializer;
  throw new OrchError("E_MATERIALIZER", {
    step: where.stepId,
    message: `Step "${where.stepId}" output "${where.output}" cannot be saved: ${problem}.`,
    hint: "Return plain JSON data or a Uint8Array, or register a materializer for this type with registerMaterializer(defineClassMaterializer(MyClass, { id, save, load })).",
  });
}

/** Describes the first part of `value` that JSON cannot round-trip, or undefined when it all can. */
export function findUnserializable(value: unknown, path = "value"): string | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot represent`;
    case "bigint":
      return `${path} is a BigInt, which JSON cannot represent`;
    case "function":
      return `${path} is a function`;
    case "symbol":
      return `${path} is a symbol`;
  }
  if (value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findUnserializable(value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as object).constructor?.name ?? "an object with a custom prototype";
    return `${path} is an instance of ${name}, and no materializer is registered for it`;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const problem = findUnserializable(v, `${path}.${key}`);
    if (problem) return problem;
  }
  return undefined;
}

/** A short type description for artifact listings: `number`, `array`, `Uint8Array`, `RandomForestClassifier`. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
