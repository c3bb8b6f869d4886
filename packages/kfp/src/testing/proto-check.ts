import protobuf from "protobufjs";

/**
 * Checks a value in the proto3 JSON mapping against a message type loaded by protobufjs, strictly:
 * every key must be a field of the message (by its JSON name or its proto name), each value the field's
 * type, at most one member of each oneof. protobufjs' own fromObject ignores unknown keys, which is
 * exactly what must not pass (a misspelt `dependentTask` would be silently dropped by KFP).
 */
export function checkMessage(type: protobuf.Type, value: unknown, path: string, errors: string[]): void {
  const wellKnown = WELL_KNOWN[type.fullName];
  if (wellKnown) return wellKnown(value, path, errors);
  if (value === null) return; // proto3 JSON: null is the field's default
  if (!isPlainObject(value)) {
    errors.push(`${path}: expected an object (${type.name}), got ${describe(value)}`);
    return;
  }
  const fields = fieldIndex(type);
  const oneofSeen = new Map<string, string>();
  for (const [key, item] of Object.entries(value)) {
    const field = fields.get(key);
    if (!field) {
      errors.push(`${path}.${key}: unknown field of ${type.fullName.slice(1)}`);
      continue;
    }
    if (field.partOf && item !== null) {
      const other = oneofSeen.get(field.partOf.name);
      if (other) errors.push(`${path}: ${other} and ${key} are both set, but they are one of ${field.partOf.name}`);
      oneofSeen.set(field.partOf.name, key);
    }
    checkField(field, item, `${path}.${key}`, errors);
  }
}

function checkField(field: protobuf.Field, value: unknown, path: string, errors: string[]): void {
  if (value === null) return;
  if (field instanceof protobuf.MapField) {
    if (!isPlainObject(value)) return void errors.push(`${path}: expected a map (object), got ${describe(value)}`);
    for (const [key, item] of Object.entries(value)) {
      if (field.keyType !== "string" && !/^-?\d+$/.test(key)) errors.push(`${path}: map key ${JSON.stringify(key)} is not a ${field.keyType}`);
      checkSingle(field, item, `${path}.${key}`, errors);
    }
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected a list, got ${describe(value)}`);
    value.forEach((item, index) => checkSingle(field, item, `${path}[${index}]`, errors));
    return;
  }
  checkSingle(field, value, path, errors);
}

function checkSingle(field: protobuf.Field, value: unknown, path: string, errors: string[]): void {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return checkMessage(resolved, value, path, errors);
  if (resolved instanceof protobuf.Enum) {
    const ok = (typeof value === "string" && value in resolved.values) || (typeof value === "number" && Number.isInteger(value));
    if (!ok) errors.push(`${path}: ${JSON.stringify(value)} is not a value of enum ${resolved.name} (${Object.keys(resolved.values).join(", ")})`);
    return;
  }
  const problem = checkScalar(field.type, value);
  if (problem) errors.push(`${path}: ${problem}`);
}

const INT32 = new Set(["int32", "sint32", "sfixed32", "uint32", "fixed32"]);
const INT64 = new Set(["int64", "sint64", "sfixed64", "uint64", "fixed64"]);

function checkScalar(type: string, value: unknown): string | undefined {
  if (type === "string") return typeof value === "string" ? undefined : `expected a string, got ${describe(value)}`;
  if (type === "bool") return typeof value === "boolean" ? undefined : `expected a boolean, got ${describe(value)}`;
  if (type === "bytes") return typeof value === "string" && /^[A-Za-z0-9+/_-]*=*$/.test(value) ? undefined : `expected base64 bytes, got ${describe(value)}`;
  if (type === "double" || type === "float") {
    if (typeof value === "number" && Number.isFinite(value)) return undefined;
    if (value === "NaN" || value === "Infinity" || value === "-Infinity") return undefined;
    return `expected a number, got ${describe(value)}`;
  }
  if (INT32.has(type) || INT64.has(type)) {
    const integer = typeof value === "number" ? Number.isInteger(value) : typeof value === "string" && /^-?\d+$/.test(value);
    if (!integer) return `expected an integer (${type}), got ${describe(value)}`;
    if (type.startsWith("u") || type.startsWith("fixed")) if (String(value).startsWith("-")) return `expected a non-negative integer (${type}), got ${describe(value)}`;
    if (INT32.has(type) && Math.abs(Number(value)) > 2 ** 32) return `${String(value)} does not fit ${type}`;
    return undefined;
  }
  return `unsupported scalar type ${type}`;
}

type Check = (value: unknown, path: string, errors: string[]) => void;

/** google.protobuf.Value: any JSON value; numbers must be finite (a Struct holds no NaN or undefined). */
function checkJsonValue(value: unknown, path: string, errors: string[]): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) errors.push(`${path}: ${value} is not a finite number (Struct values are JSON)`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((item, index) => checkJsonValue(item, `${path}[${index}]`, errors));
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) checkJsonValue(item, `${path}.${key}`, errors);
    return;
  }
  errors.push(`${path}: ${describe(value)} is not JSON`);
}

const WELL_KNOWN: Record<string, Check> = {
  ".google.protobuf.Value": checkJsonValue,
  ".google.protobuf.Struct": (value, path, errors) => {
    if (!isPlainObject(value)) return void errors.push(`${path}: expected a Struct (object), got ${describe(value)}`);
    checkJsonValue(value, path, errors);
  },
  ".google.protobuf.ListValue": (value, path, errors) => {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected a ListValue (array), got ${describe(value)}`);
    checkJsonValue(value, path, errors);
  },
  ".google.protobuf.Duration": (value, path, errors) => {
    if (typeof value !== "string" || !/^-?\d+(\.\d{1,9})?s$/.test(value)) errors.push(`${path}: expected a Duration like "5s" or "1.5s", got ${describe(value)}`);
  },
  ".google.protobuf.Timestamp": (value, path, errors) => {
    if (typeof value !== "string" || Number.isNaN(Date.parse(value))) errors.push(`${path}: expected an RFC 3339 timestamp, got ${describe(value)}`);
  },
};

const indexes = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Fields by JSON name (lowerCamelCase or json_name) and by proto name: parsers accept both. */
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = indexes.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set((field.options?.json_name as string | undefined) ?? camelCase(field.name), field);
    }
    indexes.set(type, index);
  }
  return index;
}

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}
