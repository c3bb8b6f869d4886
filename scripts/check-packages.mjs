#!/usr/bin/env node
// `pnpm check:packages [--no-build]`: tests what users install, not the sources. Builds and packs every
// public package (scripts/pack-all.mjs, so the tarballs are exactly what `pnpm publish` uploads), then
// checks each tarball with
//   - publint (package.json fields against the files in the tarball), warnings count as errors;
//   - @arethetypeswrong/cli (attw) with the esm-only profile: the packages are ESM only, so CommonJS
//     `require` and node10 resolution are out of scope, but every export must resolve to JavaScript and
//     types under node16 (ESM) and bundler resolution;
//   - checks of our own (packed-manifest.mjs): no "@orch/source" condition and no `workspace:` range in
//     the published manifest, every exports/bin target inside the tarball, every bin a committed file.
// Exits 1 when any package has a problem, naming the package and the problem.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { packAll } from "./pack-all.mjs";
import { checkPackedManifest, readTarball } from "./packed-manifest.mjs";
import { publicPackages, repoRoot } from "./workspace-packages.mjs";

const bin = (name) => join(repoRoot, "node_modules", ".bin", name);

/**
 * Problems of one packed package (publint, attw, packed-manifest checks), each a paragraph naming the
 * tool; `log` receives the tools' output.
 * @param {string} tarball
 * @param {{ dir: string, name: string }} pkg
 * @param {{ tracked?: Set<string>, log?: (text: string) => void }} [options]
 * @returns {string[]}
 */
export function checkTarball(tarball, { dir, name }, { tracked, log = () => {} } = {}) {
  const problems = [];
  const report = (tool, text) => problems.push(`${name} (${tool}):\n${text.trim().replace(/^/gm, "  ")}`);
  const publint = spawnSync(bin("publint"), ["run", tarball, "--strict", "--level", "warning"], { encoding: "utf8" });
  log(publint.stdout + publint.stderr);
  if (publint.status !== 0) report("publint", publint.stdout + publint.stderr);
  const attw = spawnSync(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii", "--no-emoji", "--no-color"], { encoding: "utf8" });
  if (attw.status !== 0) report("attw", attw.stdout + attw.stderr);
  else log("attw: no problems (esm-only profile)\n");
  const own = checkPackedManifest(readTarball(tarball), { packageDir: dir, repoRoot, tracked });
  for (const problem of own) report("manifest", problem);
  if (own.length === 0) log("manifest: no @orch/source, no workspace: ranges, every export and bin is in the tarball\n");
  return problems;
}

/** The files git tracks in the repository (bins must be among them). */
export function trackedFiles() {
  return new Set(execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).split("\n"));
}

function main() {
  const out = mkdtempSync(join(tmpdir(), "orch-check-packages-"));
  const problems = [];
  try {
    const { manifest } = packAll({ out, build: !process.argv.includes("--no-build") });
    const tracked = trackedFiles();
    for (const pkg of publicPackages()) {
      process.stdout.write(`\n== ${pkg.name}\n`);
      problems.push(...checkTarball(join(out, manifest[pkg.name]), pkg, { tracked, log: (text) => process.stdout.write(text) }));
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    process.stderr.write(`\ncheck:packages found ${problems.length} problem(s):\n${problems.join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("\ncheck:packages: every public package is publishable\n");
}

if (import.meta.url === new URL(`file://${resolve(process.argv[1] ?? "")}`).href) main();
