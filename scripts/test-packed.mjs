#!/usr/bin/env node
// `node scripts/test-packed.mjs <dir-with-tarballs> [vitest filters…]`, run in a package's folder (CI:
// `pnpm --filter <pkg> exec node scripts/test-packed.mjs …`): runs the package's own vitest suite with
// its entry points taken from its packed tarball instead of its sources. The tarball is unpacked into
// <package>/.packed/ (so the built files resolve their dependencies from the package's node_modules, as
// they would in a user's project), and every import that resolves to a source file named by an
// "@orch/source" export condition is served the file the published `exports` name for that subpath.
// Fails when no test imported the package's entry (the run would prove nothing).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readTarball } from "./packed-manifest.mjs";
import { tarballName } from "./workspace-packages.mjs";

const [tarballDir, ...filters] = process.argv.slice(2);
if (!tarballDir) {
  process.stderr.write("Usage: node scripts/test-packed.mjs <dir-with-tarballs> [vitest filters…] (in the package's folder)\n");
  process.exit(2);
}
const packageDir = process.cwd();
const source = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const tarball = resolve(tarballDir, tarballName(source.name, source.version));
if (!existsSync(tarball)) {
  process.stderr.write(`test-packed: ${tarball} does not exist; pack ${source.name} first (pnpm pack --pack-destination ${tarballDir}).\n`);
  process.exit(2);
}
const unpacked = join(packageDir, ".packed");
rmSync(unpacked, { recursive: true, force: true });
mkdirSync(unpacked, { recursive: true });
execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
const packed = readTarball(tarball).manifest;

/** source file (absolute) → packed file (absolute), for every subpath with an "@orch/source" target. */
const redirects = new Map();
for (const [subpath, conditions] of Object.entries(source.exports ?? {})) {
  if (!conditions || typeof conditions !== "object" || !conditions["@orch/source"]) continue;
  const target = packed.exports?.[subpath];
  const file = typeof target === "string" ? target : (target?.import ?? target?.default);
  if (!file) throw new Error(`the packed package.json has no JavaScript target for exports["${subpath}"]`);
  redirects.set(resolve(packageDir, conditions["@orch/source"]), resolve(unpacked, "package", file));
}
const served = new Map();
const packedEntry = {
  name: "orch-packed-entry",
  enforce: "pre",
  async resolveId(id, importer, options) {
    if (importer?.startsWith(unpacked)) return null;
    const resolved = await this.resolve(id, importer, { ...options, skipSelf: true });
    const replacement = resolved && redirects.get(resolved.id.split("?")[0]);
    if (!replacement) return null;
    served.set(replacement, (served.get(replacement) ?? 0) + 1);
    return replacement;
  },
};

const { startVitest } = await import(pathToFileURL(createRequire(join(packageDir, "package.json")).resolve("vitest/node")).href);
const vitest = await startVitest("test", filters, { run: true, watch: false, typecheck: { enabled: false } }, { plugins: [packedEntry] });
const failed = !vitest || vitest.state.getCountOfFailedTests() > 0 || process.exitCode;
await vitest?.close();
rmSync(unpacked, { recursive: true, force: true });
if (served.size === 0) {
  process.stderr.write(`test-packed: no test of ${source.name} imported its entry (${[...redirects.keys()].join(", ")}): nothing was tested against the tarball.\n`);
  process.exit(1);
}
process.stdout.write(`test-packed: ${source.name} — ${[...served].map(([file, n]) => `${file.slice(unpacked.length + 1)} (${n} import${n === 1 ? "" : "s"})`).join(", ")} served from ${tarball}\n`);
process.exit(failed ? 1 : 0);
