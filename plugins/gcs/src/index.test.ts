import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ORCH_PLUGIN_API, parseComponentConfig } from "@orch/core/plugin";
import plugin, { configSchema, gcs } from "./index.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Every module the entry loads eagerly, following relative static imports. */
function eagerImports(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = readFileSync(file, "utf8");
  const specifiers = [
    ...[...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].filter((m) => !/^\s*(import|export)\s+type\s/.test(m[0])).map((m) => m[1]!),
    ...[...source.matchAll(/^\s*import\s+"([^"]+)"/gm)].map((m) => m[1]!),
  ];
  return specifiers.flatMap((s) => (s.startsWith(".") ? eagerImports(join(dirname(file), s.replace(/\.js$/, ".ts")), seen) : [s]));
}

describe("@orch/plugin-gcs entry", () => {
  it("is an artifact-store plugin for flavor gcs, marked remote, built for this plugin API", () => {
    expect(plugin).toMatchObject({ kind: "artifact-store", flavor: "gcs", remote: true, apiVersion: ORCH_PLUGIN_API });
    expect(gcs({ path: "gs://b12/x" })).toMatchObject({ flavor: "gcs", config: { path: "gs://b12/x" }, plugin });
  });

  it("loads no SDK at import: only @orch/core/plugin (which re-exports zod) outside its own pure modules", () => {
    const external = new Set(eagerImports(join(here, "index.ts")));
    expect([...external].sort()).toEqual(["@orch/core/plugin"]);
  });

  it("describes every config key, marks credentials secret, and rejects unknown keys by name", () => {
    for (const [key, field] of Object.entries(configSchema.shape)) expect(field.description, key).toBeTruthy();
    expect(configSchema.shape.credentials.meta()).toMatchObject({ secret: true });
    expect(() => parseComponentConfig(plugin, { path: "gs://b12/x", region: "us" })).toThrow(/\[gcs\] region/);
    expect(() => parseComponentConfig(plugin, {})).toThrow(/\[gcs\] path/);
  });
});
