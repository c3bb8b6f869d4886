import v8 from "node:v8";
import { OrchError } from "../errors.js";
import { inspectValue } from "./value-shape.js";
import { isStreamValue, openStreamValue, type ByteSource, type StreamedArtifact, type StreamValue } from "./streamed.js";

/**
 * A materializer turns a step output into bytes and back. `json`, `bytes`, `buffer`, `v8` and
 * `stream` are built in (see pickMaterializer); class instances need one registered by the user (a
 * model, a data frame), because JSON would save their fields and load a plain object without the methods.
 *
 * Whole-value materializers implement `save`/`load` (the fast path for small values). Materializers of
 * large values implement `saveStream`/`loadStream` instead, so the value is never held in memory as
 * one buffer: the bytes are hashed and sized while they stream into the store, and `loadStream` gets
 * a {@link StreamedArtifact} to read from. A materializer needs one of each pair; when it has both,
 * the streaming one is used.
 */
export interface Materializer<T = unknown> {
  /** Stable id stored with the artifact; loading looks the materializer up by it. */
  id: string;
  /** True for values this materializer saves. User materializers are asked before the built-ins. */
  canSave(value: unknown): boolean;
  save?(value: T): Uint8Array | string | Promise<Uint8Array | string>;
  load?(data: Uint8Array): T | Promise<T>;
  /** The value's bytes as a Readable or an async iterable, streamed into the store. */
  saveStream?(value: T): ByteSource | Promise<ByteSource>;
  /** The value back from a handle on the stored bytes (`artifact.stream()`, `artifact.toFile(path)`). */
  loadStream?(artifact: StreamedArtifact): T | Promise<T>;
}

export function defineMaterializer<T>(materializer: Materializer<T>): Materializer<T> {
  const missing = !materializer.save && !materializer.saveStream ? "save or saveStream" : !materializer.load && !materializer.loadStream ? "load or loadStream" : undefined;
  if (missing) {
    throw new OrchError("E_MATERIALIZER", {
      message: `Materializer "${materializer.id}" has no ${missing}.`,
      hint: "Give it save(value) → bytes and load(bytes) → value, or saveStream(value) → Readable and loadStream(artifact) → value for large values.",
    });
  }
  return Object.freeze({ ...materializer });
}

/** A materializer for instances of one class: the common case (`defineClassMaterializer(Model, …)`). */
export function defineClassMaterializer<T>(
  cls: abstract new (...args: never[]) => T,
  options: Omit<Materializer<T>, "canSave">,
): Materializer<T> {
  return defineMaterializer({ ...options, canSave: (value) => value instanceof cls });
}

const textDecoder = new TextDecoder();

/** Plain JSON data (the common case), stored as readable JSON text. */
export const jsonMaterializer = defineMaterializer<unknown>({
  id: "json",
  canSave: (value) => inspectValue(value, "value").json,
  save: (value) => JSON.stringify(value === undefined ? null : value),
  load: (data) => JSON.parse(textDecoder.decode(data)),
});

/** A Uint8Array, stored as its raw bytes; loads back as a Uint8Array. */
export const bytesMaterializer = defineMaterializer<Uint8Array>({
  id: "bytes",
  canSave: (value) => value instanceof Uint8Array,
  save: (value) => value,
  // Hand back a plain Uint8Array view so callers see the type they saved.
  load: (data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});

/** A Node.js Buffer, stored as its raw bytes; loads back as a Buffer (so `toString()` gives the text). */
export const bufferMaterializer = defineMaterializer<Buffer>({
  id: "buffer",
  canSave: (value) => Buffer.isBuffer(value),
  save: (value) => value,
  load: (data) => Buffer.from(data.buffer, data.byteOffset, data.byteLength),
});

/**
 * Everything else `structuredClone` supports (undefined, Date, Map, Set, BigInt, RegExp, typed
 * arrays, NaN, -0, cycles, nested Buffers), in `node:v8` serialization format, which restores each
 * type. Class instances are refused before they get here: v8 would load them as plain objects.
 */
export const v8Materializer = defineMaterializer<unknown>({
  id: "v8",
  canSave: (value) => inspectValue(value, "value").problem === undefined,
  save: (value) => v8.serialize(value),
  load: (data) => v8.deserialize(data),
});

/**
 * Large values, streamed: `artifactFile(path)`, `artifactStream(readable)`, a Node Readable or an
 * async iterable of bytes returned by a step. Loads as a {@link StreamedArtifact} handle, never as one buffer.
 */
export const streamMaterializer = defineMaterializer<StreamValue>({
  id: "stream",
  canSave: isStreamValue,
  saveStream: async (value) => (await openStreamValue(value)).source,
  loadStream: (artifact) => artifact,
});

const BUILT_IN: readonly Materializer[] = [jsonMaterializer, bytesMaterializer, bufferMaterializer, v8Materializer, streamMaterializer] as Materializer[];

const userMaterializers: Materializer[] = [];

/** Registers a materializer for this process. Modules that define steps register theirs at import. */
export function registerMaterializer(materializer: Materializer<any>): void {
  const existing = userMaterializers.findIndex((m) => m.id === materializer.id);
  if (existing >= 0) userMaterializers.splice(existing, 1);
  userMaterializers.unshift(materializer as Materializer);
}

export function materializerById(id: string): Materializer | undefined {
  return BUILT_IN.find((m) => m.id === id) ?? userMaterializers.find((m) => m.id === id);
}

/**
 * The materializer that saves `value`, or an `E_MATERIALIZER` error naming the part of the value
 * that cannot be stored (`outputs.model.fit is a function`) and how to fix it. User materializers
 * come first; then raw bytes for a Buffer or Uint8Array, JSON for plain JSON data, v8 for the rest.
 */
export function pickMaterializer(value: unknown, where: { stepId: string; output: string }): Materializer {
  for (const m of userMaterializers) if (m.canSave(value)) return m;
  if (isStreamValue(value)) return streamMaterializer as Materializer;
  if (Buffer.isBuffer(value)) return bufferMaterializer as Materializer;
  if (value instanceof Uint8Array) return bytesMaterializer as Materializer;
  const shape = inspectValue(value, `outputs.${where.output}`);
  if (shape.problem === undefined) return shape.json ? jsonMaterializer : v8Materializer;
  throw new OrchError("E_MATERIALIZER", {
    step: where.stepId,
    message: `Step "${where.stepId}" output "${where.output}" cannot be saved: ${shape.problem}.`,
    hint: "Return data (JSON values, Buffers, typed arrays, Date, Map, Set, BigInt … anything structuredClone supports), or register a materializer for the type with registerMaterializer(defineClassMaterializer(MyClass, { id, save, load })).",
  });
}

/** Describes the first part of `value` that JSON cannot round-trip, or undefined when it all can. */
export function findUnserializable(value: unknown, path = "value", ancestors: Set<object> = new Set()): string | undefined {
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
  if (ancestors.has(value as object)) return `${path} refers back to itself (a circular structure)`;
  ancestors.add(value as object);
  try {
    return findUnserializableObject(value as object, path, ancestors);
  } finally {
    ancestors.delete(value as object);
  }
}

function findUnserializableObject(value: object, path: string, ancestors: Set<object>): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findUnserializable(value[i], `${path}[${i}]`, ancestors);
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
    const problem = findUnserializable(v, `${path}.${key}`, ancestors);
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
