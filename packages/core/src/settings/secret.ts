/**
 * Secret config values: how a schema marks a field secret, how a key that looks like a credential is
 * recognised, and redaction of both at any depth (maps such as `env` and `buildArgs` included). Every
 * place that prints or logs a component config redacts it with `redactSecrets` first.
 */
import { z } from "zod";
import { isEnvReference } from "./env-references.js";

/** What a redacted value is replaced with. */
export const REDACTED = "********";

/**
 * Marks a config field secret: `password: secret(z.string().optional())`. Same as
 * `.meta({ secret: true })`; `.meta({ secret: false })` says a field is not secret although its name
 * looks like one (e.g. `imagePullSecrets`, a list of Secret names).
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ ...(z.globalRegistry.get(schema) ?? {}), secret: true }) as T;
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType>; valueType?: z.ZodType; element?: z.ZodType; options?: z.ZodType[] };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(["optional", "default", "nullable", "prefault", "readonly", "catch", "nonoptional", "lazy"]);

/** The schema and the ones it wraps (`.optional()`, `.default()`, pipes …), outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const all: z.ZodType[] = [];
  let current: z.ZodType | undefined = schema;
  while (current && all.length < 20) {
    all.push(current);
    const def: Def = defOf(current);
    current = WRAPPERS.has(def.type) ? def.innerType : def.type === "pipe" ? def.in : undefined;
  }
  return all;
}

/** `true`/`false` when the schema says (`.meta({ secret })` on the field or a type it wraps), else undefined. */
export function schemaSecretFlag(schema: z.ZodType | undefined): boolean | undefined {
  if (!schema) return undefined;
  for (const layer of layers(schema)) {
    const flag = (z.globalRegistry.get(layer) as { secret?: unknown } | undefined)?.secret;
    if (typeof flag === "boolean") return flag;
  }
  return undefined;
}

const SECRET_WORDS = new Set(["password", "passwd", "passphrase", "pwd", "secret", "token", "tokens", "key", "apikey", "credential", "credentials", "auth", "authorization", "cookie"]);
/** A last word that makes the value a reference to a secret, not the secret (`tokenUrl`, `keyFile`, `secretName`). */
const REFERENCE_WORDS = new Set(["file", "path", "url", "uri", "endpoint", "name", "names", "ref", "dir", "type", "kind", "mode", "method"]);

/** The words of a key: `AWS_SECRET_ACCESS_KEY` → aws, secret, access, key; `apiKey` → api, key; `APIToken` → api, token. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * Does this key name a credential? A word of it is password, token, secret, key, credential(s), auth …
 * (case-insensitive, any of camelCase / snake_case / kebab-case / SCREAMING_CASE), or it is a
 * connection string; unless its last word says it only points at one (`keyFile`, `tokenUrl`, `secretName`).
 */
export function looksSecret(key: string): boolean {
  const parts = words(key);
  if (!parts.length || REFERENCE_WORDS.has(parts[parts.length - 1]!)) return false;
  if (parts.some((w) => SECRET_WORDS.has(w))) return true;
  return /connection[-_ ]?string/i.test(key) || /private[-_ ]?key/i.test(key);
}

/** The schema of `value[key]` inside an object/record schema, when there is one. */
function childSchema(schema: z.ZodType | undefined, key: string | number): z.ZodType | undefined {
  if (!schema) return undefined;
  const base = layers(schema).at(-1)!;
  const def = defOf(base);
  if (def.type === "object") return (base as unknown as { shape: Record<string, z.ZodType> }).shape[key as string];
  if (def.type === "record") return def.valueType;
  if (def.type === "array") return def.element;
  return undefined;
}

/**
 * A copy of `value` with secrets replaced by `********`: fields the schema marks secret, and at any
 * depth the values under keys that look like credentials (`env: { DB_PASSWORD: … }`). Empty values
 * stay as they are (nothing to hide; it shows the field is unset).
 */
export function redactSecrets<T>(value: T, schema?: z.ZodType): T {
  return redact(value, schema, 0) as T;
}

function redact(value: unknown, schema: z.ZodType | undefined, depth: number): unknown {
  if (depth > 50 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item, i) => redact(item, childSchema(schema, i), depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const fieldSchema = childSchema(schema, key);
    const flag = schemaSecretFlag(fieldSchema);
    const hide = flag ?? looksSecret(key);
    // An {{env.NAME}} reference holds no secret, and seeing it tells where the value comes from.
    result[key] = hide && child !== undefined && child !== null && child !== "" && !isEnvReference(child) ? REDACTED : redact(child, fieldSchema, depth + 1);
  }
  return result;
}
