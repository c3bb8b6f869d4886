#!/usr/bin/env node
// `pnpm pack:all [--out DIR] [--no-build] [NAME…]`: builds every public package and writes an installable
// tarball of each to DIR (default dist-packages/), plus DIR/manifest.json (package name → tarball).
// `pnpm pack` rewrites `workspace:` ranges to real versions and runs the beforePacking hook of
// .pnpmfile.cjs (which drops the in-repository "@orch/source" export condition), so the tarballs are
// what `pnpm publish` would upload. Install them anywhere with `npm install <DIR>/<tarball>…`.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { publicPackages, repoRoot, tarballName } from "./workspace-packages.mjs";

/**
 * `only`: package names to pack (default: every public package); each must be a public workspace package.
 * @param {{ out?: string, build?: boolean, only?: string[], log?: (line: string) => void }} [options]
 * @returns {{ out: string, manifest: Record<string, string> }}
 */
export function packAll({ out = join(repoRoot, "dist-packages"), build = true, only, log = (line) => process.stdout.write(`${line}\n`) } = {}) {
  const all = publicPackages();
  const unknown = (only ?? []).filter((name) => !all.some((p) => p.name === name));
  if (unknown.length > 0) throw new Error(`not a public workspace package: ${unknown.join(", ")} (public: ${all.map((p) => p.name).join(", ")})`);
  const packages = only ? all.filter((p) => only.includes(p.name)) : all;
  if (build) {
    log(`building ${packages.length} packages…`);
    execFileSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only", ...packages.map((p) => `--filter=${p.name}`)], { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"] });
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const manifest = {};
  for (const pkg of packages) {
    execFileSync("pnpm", ["pack", "--pack-destination", out], { cwd: pkg.dir, stdio: ["ignore", "ignore", "inherit"] });
    manifest[pkg.name] = tarballName(pkg.name, pkg.version);
    log(`${pkg.name}@${pkg.version} → ${join(out, manifest[pkg.name])}`);
  }
  writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return { out, manifest };
}

if (import.meta.url === new URL(`file://${resolve(process.argv[1] ?? "")}`).href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf("--out");
  const only = args.filter((arg, i) => !arg.startsWith("--") && args[i - 1] !== "--out");
  packAll({ ...(outAt >= 0 ? { out: resolve(args[outAt + 1]) } : {}), build: !args.includes("--no-build"), ...(only.length > 0 ? { only } : {}) });
}
