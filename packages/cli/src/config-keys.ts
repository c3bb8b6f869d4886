/**
 * Turning `--key=value` command-line options into a component config, guided by the flavor's zod
 * schema: snake_case, kebab-case and camelCase keys, values parsed as the schema expects, unknown
 * keys named with the closest valid one, secret fields recognised for redaction.
 */
import { closestMatch, z } from "@orch/core";
import { UsageError } from "./errors.js";

type AnySchema = z.ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  shape?: Record<string, AnySchema>;
  options?: AnySchema[];
}

const defOf = (schema: AnySchema): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object shape behind a (possibly wrapped) schema, or undefined for non-object schemas. */
export function schemaShape(schema: AnySchema): Record<string, AnySchema> | undefined {
  const base = unwrap(schema);
  const def = defOf(base);
  if (def.type !== "object") return undefined;
  return (base as unknown as { shape: Record<string, AnySchema> }).shape;
}

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(current);
    if (["optional", "default", "nullable", "prefault", "readonly", "catch", "nonoptional"].includes(def.type) && def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else break;
  }
  return current;
}

/** The base type name of a field: number, boolean, string, enum, object, array, union … */
export function fieldType(schema: AnySchema): string {
  const def = defOf(unwrap(schema));
  if (def.type === "union" && def.options) {
    const types = new Set(def.options.map((o) => fieldType(o)));
    return types.size === 1 ? [...types][0]! : "union";
  }
  return def.type;
}

export function fieldDescription(schema: AnySchema): string | undefined {
  return (schema as { description?: string }).description ?? (unwrap(schema) as { description?: string }).description;
}

const SECRET_NAME = /(secret|token|password|passphrase|api[-_]?key|access[-_]?key|credential|private[-_]?key|connection[-_]?string)/i;

/** A field is secret when its schema says so (`.meta({ secret: true })`) or its name looks like a credential. */
export function isSecretField(key: string, schema: AnySchema | undefined): boolean {
  if (SECRET_NAME.test(key)) return true;
  if (!schema) return false;
  const meta = (z.globalRegistry.get(schema) ?? z.globalRegistry.get(unwrap(schema))) as { secret?: unknown } | undefined;
  return meta?.secret === true;
}

export function redact(config: Record<string, unknown>, schema: AnySchema | undefined): Record<string, unknown> {
  const shape = schema ? schemaShape(schema) : undefined;
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, isSecretField(k, shape?.[k]) && v !== undefined && v !== "" ? "********" : v]));
}

const normalize = (key: string) => key.toLowerCase().replace(/[-_]/g, "");

/** `kubernetes_context` / `kubernetes-context` → `kubernetesContext`. */
export function camelKey(key: string): string {
  return key.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Splits raw extra arguments (`--a=1 --b 2 --flag`) into key/value pairs (value `undefined` for a bare flag). */
export function parseKeyValueArgs(args: string[]): [string, string | undefined][] {
  const pairs: [string, string | undefined][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") throw new UsageError(`Unexpected argument "${arg}".`, "Config values are given as --key=value.");
    const body = arg.slice(2);
    const eq = body.indexOf("=");
    if (eq >= 0) pairs.push([body.slice(0, eq), body.slice(eq + 1)]);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--")) pairs.push([body, args[++i]]);
    else pairs.push([body, undefined]);
  }
  return pairs;
}

/** Maps user keys onto the schema's keys and parses each value as the schema's field type. */
export function configFromArgs(pairs: [string, string | undefined][], schema: AnySchema, flavor: string): Record<string, unknown> {
  const shape = schemaShape(schema) ?? {};
  const keys = Object.keys(shape);
  const byNormalized = new Map(keys.map((k) => [normalize(k), k]));
  const config: Record<string, unknown> = {};
  for (const [rawKey, rawValue] of pairs) {
    const key = byNormalized.get(normalize(rawKey));
    if (!key) {
      const closest = closestKey(rawKey, keys);
      throw new UsageError(
        `Unknown config key "--${rawKey}" for flavor ${flavor}.`,
        keys.length
          ? `${closest ? `Did you mean --${snake(closest)}? ` : ""}Valid keys: ${keys.map((k) => `--${snake(k)}`).join(", ")}.`
          : `The ${flavor} flavor takes no config keys.`,
      );
    }
    config[key] = parseValue(rawValue, shape[key]!, key);
  }
  return config;
}

export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function parseValue(raw: string | undefined, field: AnySchema, key: string): unknown {
  const type = fieldType(field);
  if (raw === undefined) {
    if (type === "boolean") return true;
    throw new UsageError(`--${snake(key)} needs a value.`, `Give it as --${snake(key)}=VALUE.`);
  }
  switch (type) {
    case "number":
    case "int":
    case "bigint": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${snake(key)} must be a number, got "${raw}".`, `For example --${snake(key)}=2.`);
      return n;
    }
    case "boolean":
      if (/^(true|yes|1|on)$/i.test(raw)) return true;
      if (/^(false|no|0|off)$/i.test(raw)) return false;
      throw new UsageError(`--${snake(key)} must be true or false, got "${raw}".`, `For example --${snake(key)}=true.`);
    case "string":
    case "enum":
    case "literal":
    case "template_literal":
      return raw;
    default:
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
  }
}

function closestKey(input: string, keys: string[]): string | undefined {
  return closestMatch(input, keys, { normalize });
}
