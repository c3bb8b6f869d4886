import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * Resolves a package's own `"."` export from its package.json (a self-reference), trying
 * `conditions` in order. Enough for finding a plugin's entry without loading it.
 */
export function moduleResolveFrom(name: string, packageJsonUrl: URL, conditions: string[]): URL {
  const file = fileURLToPath(packageJsonUrl);
  const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; exports?: unknown; main?: string };
  if (pkg.name !== name) throw new Error(`${file} is not the package.json of ${name}`);
  const root = dirname(file);
  const exportsField = pkg.exports;
  const dot = typeof exportsField === "object" && exportsField !== null && "." in exportsField ? (exportsField as Record<string, unknown>)["."] : exportsField;
  const target = pick(dot, conditions, root) ?? pkg.main ?? "index.js";
  const path = join(root, target);
  if (!existsSync(path)) throw new Error(`${name} resolves to ${path}, which does not exist`);
  return pathToFileURL(path);
}

/** The first target whose condition matches and whose file exists (a published package has no src/). */
function pick(value: unknown, conditions: string[], root: string): string | undefined {
  if (typeof value === "string") return existsSync(join(root, value)) ? value : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  const map = value as Record<string, unknown>;
  for (const condition of [...conditions, "default"]) {
    if (condition in map) {
      const found = pick(map[condition], conditions, root);
      if (found) return found;
    }
  }
  return undefined;
}
