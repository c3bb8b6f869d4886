/**
 * Validates request bodies against the ARM OpenAPI definitions of the api-version the SDK pins (the
 * subset kept in fixtures/mfe/). Swagger 2.0 composes models with `allOf` and picks subtypes with a
 * `discriminator`, which JSON Schema does not: definitions are flattened here (a model's properties are
 * its own plus its allOf parents') and the subtype is chosen by the discriminator value, then ajv checks.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";

type Schema = Record<string, any>;
const spec = JSON.parse(readFileSync(new URL("./fixtures/mfe/mfe-2022-10-01.subset.json", import.meta.url), "utf8")) as { definitions: Record<string, Schema> };
const defs = spec.definitions;

/** A definition with its allOf parents merged in, `$ref`s resolved, and swagger-only keywords left out. */
function flatten(schema: Schema, discriminated = true): Schema {
  if (schema.$ref) {
    const name = String(schema.$ref).replace("#/definitions/", "");
    const target = defs[name]!;
    // A reference to a discriminated base model accepts any of its subtypes: chosen later by value.
    if (discriminated && target.discriminator) return { type: "object" };
    return flatten(target);
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith("x-") || key === "readOnly" || key === "discriminator" || key === "allOf" || key === "description" || key === "default") continue;
    out[key] = value;
  }
  if (schema.properties) out.properties = Object.fromEntries(Object.entries<Schema>(schema.properties).map(([k, v]) => [k, flatten(v)]));
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") out.additionalProperties = flatten(schema.additionalProperties);
  for (const parent of schema.allOf ?? []) {
    const base = flatten(parent, false);
    out.properties = { ...base.properties, ...out.properties };
    out.required = [...new Set([...(base.required ?? []), ...(out.required ?? [])])];
  }
  if (out.required?.length === 0) delete out.required;
  return out;
}

/** The subtype of a discriminated base for a value (`jobType: "Pipeline"` → PipelineJob). */
function subtype(base: string, value: unknown): string | undefined {
  return Object.entries(defs).find(([, d]) => d["x-ms-discriminator-value"] === value && d.allOf?.some((p: Schema) => p.$ref === `#/definitions/${base}`))?.[0];
}

const ajv = new Ajv({ allErrors: true, strict: false });
const envelope = ajv.compile({ ...flatten(defs.JobBaseResource!), properties: { properties: { type: "object" } } });

/** Problems of a `PUT …/jobs/{id}` body, as `path: message` lines (empty when it is valid). */
export function jobBodyProblems(body: unknown): string[] {
  const problems: string[] = [];
  const describe = (prefix: string, errors: typeof envelope.errors) =>
    (errors ?? []).map((e) => `${prefix}${e.instancePath || "/"}: ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
  if (!envelope(body)) problems.push(...describe("", envelope.errors));
  const props = (body as { properties?: { jobType?: unknown } })?.properties;
  const name = subtype("JobBase", props?.jobType);
  if (!name) return [...problems, `/properties/jobType: ${JSON.stringify(props?.jobType)} is no JobBase subtype of this spec subset`];
  const validate = ajv.compile(flatten(defs[name]!));
  if (!validate(props)) problems.push(...describe("/properties", validate.errors));
  return problems;
}
