// The public (publishable) packages of this workspace, as pnpm sees them.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Every workspace package that is not private: `{ name, version, dir, manifest }`, sorted by name. */
export function publicPackages(root = repoRoot) {
  const listed = JSON.parse(execFileSync("pnpm", ["ls", "-r", "--depth", "-1", "--json"], { cwd: root, encoding: "utf8" }));
  return listed
    .map((entry) => ({ dir: entry.path, manifest: JSON.parse(readFileSync(join(entry.path, "package.json"), "utf8")) }))
    .filter(({ manifest }) => manifest.name && !manifest.private)
    .map(({ dir, manifest }) => ({ name: manifest.name, version: manifest.version, dir, manifest }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The tarball file name `pnpm pack` writes for a package: `@orch/plugin-local@0.1.0` → `orch-plugin-local-0.1.0.tgz`. */
export function tarballName(name, version) {
  return `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`;
}
