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
import { join } from "node:path";
import { packAll } from "./pack-all.mjs";
import { checkPackedManifest, readTarball } from "./packed-manifest.mjs";
import { publicPackages, repoRoot } from "./workspace-packages.mjs";

const bin = (name) => join(repoRoot, "node_modules", ".bin", name);
const out = mkdtempSync(join(tmpdir(), "orch-check-packages-"));
const problems = [];
try {
  const { manifest } = packAll({ out, build: !process.argv.includes("--no-build") });
  const tracked = new Set(execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).split("\n"));
  for (const pkg of publicPackages()) {
    const tarball = join(out, manifest[pkg.name]);
    const report = (tool, text) => problems.push(`${pkg.name} (${tool}):\n${text.trim().replace(/^/gm, "  ")}`);
    process.stdout.write(`\n== ${pkg.name}\n`);
    const publint = spawnSync(bin("publint"), ["run", tarball, "--strict", "--level", "warning"], { encoding: "utf8" });
    process.stdout.write(publint.stdout + publint.stderr);
    if (publint.status !== 0) report("publint", publint.stdout + publint.stderr);
    const attw = spawnSync(bin("attw"), [tarball, "--profile", "esm-only", "--format", "ascii", "--no-emoji", "--no-color"], { encoding: "utf8" });
    if (attw.status !== 0) report("attw", attw.stdout + attw.stderr);
    else process.stdout.write("attw: no problems (esm-only profile)\n");
    const own = checkPackedManifest(readTarball(tarball), { packageDir: pkg.dir, repoRoot, tracked });
    for (const problem of own) report("manifest", problem);
    if (own.length === 0) process.stdout.write("manifest: no @orch/source, no workspace: ranges, every export and bin is in the tarball\n");
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
if (problems.length > 0) {
  process.stderr.write(`\ncheck:packages found ${problems.length} problem(s):\n${problems.join("\n")}\n`);
  process.exit(1);
}
process.stdout.write("\ncheck:packages: every public package is publishable\n");
