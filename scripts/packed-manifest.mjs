// Checks of a packed package that publint and attw do not make (used by check-packages.mjs and tests).
import { execFileSync } from "node:child_process";
import { join, relative } from "node:path";

/** `{ manifest, files }` of a .tgz: the packed package.json and the paths inside `package/`. */
export function readTarball(tarball) {
  const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .map((entry) => entry.replace(/^package\//, ""));
  const manifest = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }));
  return { manifest, files };
}

function exportTargets(exports, path = "exports") {
  if (typeof exports === "string") return [{ path, target: exports }];
  if (Array.isArray(exports)) return exports.flatMap((entry, i) => exportTargets(entry, `${path}[${i}]`));
  if (exports && typeof exports === "object") return Object.entries(exports).flatMap(([key, value]) => exportTargets(value, `${path}["${key}"]`));
  return [];
}

/**
 * Problems (one sentence each) of a packed package: the in-repository "@orch/source" condition left in
 * `exports`, a `workspace:` range left in a dependency field, an `exports`/`bin` target missing from the
 * tarball, a bin that points at a build output instead of a committed file (pnpm cannot link such a bin
 * on a fresh install of the monorepo: "Failed to create bin").
 */
export function checkPackedManifest({ manifest, files }, { packageDir, repoRoot, tracked } = {}) {
  const problems = [];
  const inTarball = new Set(files);
  const norm = (target) => target.replace(/^\.\//, "");
  for (const { path, target } of exportTargets(manifest.exports)) {
    if (path.includes('"@orch/source"')) problems.push(`${path} is published: the "@orch/source" condition must be stripped at pack time (.pnpmfile.cjs beforePacking).`);
    else if (!target.includes("*") && !inTarball.has(norm(target))) problems.push(`${path} points at ${target}, which is not in the tarball (check "files" and the build).`);
  }
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith("workspace:")) problems.push(`${field}.${name} is "${range}": pack with pnpm, which rewrites workspace: ranges.`);
    }
  }
  const bins = typeof manifest.bin === "string" ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {});
  for (const [name, target] of Object.entries(bins)) {
    if (!inTarball.has(norm(target))) problems.push(`bin "${name}" points at ${target}, which is not in the tarball.`);
    if (tracked && packageDir && repoRoot) {
      const file = relative(repoRoot, join(packageDir, target));
      if (!tracked.has(file)) problems.push(`bin "${name}" points at ${target}, which is not a committed file: pnpm warns "Failed to create bin" on a fresh install before the build. Commit a small shim (see packages/core/bin/orch-entrypoint.js).`);
    }
  }
  return problems;
}
