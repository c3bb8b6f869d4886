/**
 * What the default materializers can do with a value: store it as readable JSON, store it with
 * `node:v8` serialization (everything `structuredClone` supports: Date, Map, Set, BigInt, RegExp,
 * typed arrays, Buffers, undefined, NaN, cycles …), or not at all (functions, symbols, class
 * instances, which would load back without their methods). One walk answers both questions.
 */
export interface ValueShape {
  /** `JSON.parse(JSON.stringify(value))` gives the value back. */
  json: boolean;
  /** Why the value cannot be stored, naming the part (`outputs.model.fit is a function`). */
  problem?: string;
}

/** Prototypes of the built-in types `node:v8` serializes and restores with their type. */
const V8_TYPES: ReadonlySet<object> = new Set<object>([
  Date.prototype,
  RegExp.prototype,
  Map.prototype,
  Set.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  Boolean.prototype,
  Number.prototype,
  String.prototype,
  BigInt.prototype,
  Error.prototype,
  EvalError.prototype,
  RangeError.prototype,
  ReferenceError.prototype,
  SyntaxError.prototype,
  TypeError.prototype,
  URIError.prototype,
]);
const TypedArray = Object.getPrototypeOf(Uint8Array) as abstract new () => ArrayBufferView;

export function inspectValue(value: unknown, path: string): ValueShape {
  const shape: ValueShape = { json: true };
  // Ancestors detect cycles (not JSON); `seen` stops shared sub-objects from being walked twice.
  const ancestors = new Set<object>();
  const seen = new Set<object>();

  const walk = (v: unknown, at: string): boolean => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return true;
      case "number":
        if (!Number.isFinite(v) || Object.is(v, -0)) shape.json = false;
        return true;
      case "undefined":
      case "bigint":
        shape.json = false;
        return true;
      case "function":
        shape.problem = `${at} is a function`;
        return false;
      case "symbol":
        shape.problem = `${at} is a symbol`;
        return false;
    }
    if (v === null) return true;
    const object = v as object;
    if (ancestors.has(object)) {
      shape.json = false; // a cycle: v8 keeps it, JSON cannot
      return true;
    }
    if (seen.has(object)) return true;
    seen.add(object);
    ancestors.add(object);
    try {
      return walkObject(object, at);
    } finally {
      ancestors.delete(object);
    }
  };

  const walkObject = (object: object, at: string): boolean => {
    if (Array.isArray(object)) {
      if (Object.getPrototypeOf(object) !== Array.prototype) return refuseInstance(object, at);
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) shape.json = false; // a hole
        else if (!walk(object[i], `${at}[${i}]`)) return false;
      }
      return true;
    }
    const proto = Object.getPrototypeOf(object) as object | null;
    if (proto === Object.prototype || proto === null) {
      for (const key of Reflect.ownKeys(object)) {
        if (typeof key === "symbol") {
          shape.problem = `${at} has a symbol key (${String(key)})`;
          return false;
        }
        if (!walk((object as Record<string, unknown>)[key], `${at}.${key}`)) return false;
        if ((object as Record<string, unknown>)[key] === undefined) shape.json = false;
      }
      return true;
    }
    shape.json = false;
    if (object instanceof TypedArray) return true; // Buffer included: v8 restores a Buffer as a Buffer
    if (!V8_TYPES.has(proto)) return refuseInstance(object, at);
    if (object instanceof Map) {
      let i = 0;
      for (const [key, item] of object) {
        if (!walk(key, `${at}<key ${i}>`) || !walk(item, `${at}.get(${describeKey(key)})`)) return false;
        i++;
      }
    } else if (object instanceof Set) {
      let i = 0;
      for (const item of object) if (!walk(item, `${at}<item ${i++}>`)) return false;
    } else if (object instanceof Error) {
      if ("cause" in object && !walk(object.cause, `${at}.cause`)) return false;
    }
    return true;
  };

  const refuseInstance = (object: object, at: string): false => {
    const name = (object as { constructor?: { name?: string } }).constructor?.name || "an object with a custom prototype";
    shape.problem = `${at} is an instance of ${name}, and no materializer is registered for it`;
    return false;
  };

  walk(value, path);
  if (shape.problem) shape.json = false;
  return shape;
}

function describeKey(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "number" || typeof key === "boolean" || typeof key === "bigint" || key == null) return String(key);
  return "…";
}
