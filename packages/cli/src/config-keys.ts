/**
 * Turning `--key=value` command-line options into a component config, guided by the flavor's zod
 * schema: snake_case, kebab-case and camelCase keys, values parsed as the schema expects, unknown
 * keys named with the closest valid one, secrets redacted for printing.
 */
import { z } from "@orch/core";
import { closestMatch, redactSecrets } from "@orch/core/host";
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

/**
 * The config as it may be printed: fields the schema marks secret (`secret()` / `.meta({ secret: true })`
 * from @orch/core) and, at any depth, values under keys that look like credentials (`password`, `token`,
 * `secret`, `key`, `credential(s)`, `auth` … — `env: { DB_PASSWORD }` included) become `********`.
 */
export function redact(config: Record<string, unknown>, schema: AnySchema | undefined): Record<string, unknown> {
  return redactSecrets(config, schema);
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

// ── pipeline parameters ───────────────────────────────────────────────────────────────────────────

const quoteHint = (key: string, example: string) => `Quote it for the shell: --param ${key}='${example}'.`;

/**
 * A `--param key=value` value, read as the pipeline's params schema says: a string parameter takes
 * the text as is (`--param name=123` gives "123"; `--param name='"x"'` gives x), a number parameter a
 * number, a boolean one true/false/yes/no/1/0, an object or array JSON. Without a schema (or for a
 * union) the text is JSON when it parses (`5`, `true`, `[1,2]`, `"5"`), else a string.
 */
export function paramValue(raw: string, field: AnySchema | undefined, key: string): unknown {
  const type = field ? fieldType(field) : undefined;
  const json = (): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: JSON.parse(raw) };
    } catch {
      return { ok: false };
    }
  };
  switch (type) {
    case "string":
    case "enum":
    case "template_literal": {
      const quoted = /^".*"$/s.test(raw) ? json() : { ok: false as const };
      return quoted.ok && typeof quoted.value === "string" ? quoted.value : raw;
    }
    case "number":
    case "int":
    case "bigint": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`Parameter "${key}" must be a number, got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 79)}…` : raw)}.`, `For example --param ${key}=5.`);
      return n;
    }
    case "boolean":
      if (/^(true|yes|1|on)$/i.test(raw)) return true;
      if (/^(false|no|0|off)$/i.test(raw)) return false;
      throw new UsageError(`Parameter "${key}" must be true or false, got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 79)}…` : raw)}.`, `For example --param ${key}=true.`);
    case "object":
    case "record":
    case "array":
    case "tuple":
    case "map":
    case "set": {
      const parsed = json();
      if (!parsed.ok) throw new UsageError(`Parameter "${key}" takes JSON (${type === "object" || type === "record" ? "an object" : "an array"}), and this is not JSON.`, quoteHint(key, type === "object" || type === "record" ? '{"a":1}' : "[1,2]"));
      return parsed.value;
    }
    default: {
      const parsed = json();
      return parsed.ok ? parsed.value : raw;
    }
  }
}

/** A parameter from the run config YAML: a number or boolean written for a string parameter becomes its text. */
export function configParamValue(value: unknown, field: AnySchema | undefined): unknown {
  if (!field || (typeof value !== "number" && typeof value !== "boolean")) return value;
  return fieldType(field) === "string" ? String(value) : value;
}
