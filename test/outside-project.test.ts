// orch used outside this repository, as a user would before the first npm release: `pnpm pack:all`
// writes the tarballs, a project in a temp folder (outside the workspace, so nothing resolves into the
// repository) installs @orch/cli, @orch/core and @orch/plugin-local from them with real npm (third-party
// dependencies such as zod come from the registry), runs a pipeline with `npx orch pipeline run` and
// lists it with `orch run list`. The plugin template, generated there, builds and passes its testkit
// suite with @orch/testkit installed from its tarball. Skips, saying why, only when npm cannot reach
// the registry. The same tarballs also prove scripts/test-packed.mjs (the CI step that runs a plugin's
// tests against its packed tarball). All in one file so the packages are built and packed once.
//
// better-sqlite3 (the CLI's index) installs a prebuilt binary that prebuild-install downloads from
// GitHub, which is not reachable here, and otherwise compiles SQLite for minutes. The test serves the
// workspace's own build of the same version on 127.0.0.1 through prebuild-install's documented mirror
// variable (npm_config_better_sqlite3_binary_host); without that build it lets npm compile.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTarball, trackedFiles } from "../scripts/check-packages.mjs";
import { packAll } from "../scripts/pack-all.mjs";
import { checkPackedManifest, readTarball } from "../scripts/packed-manifest.mjs";
import { publicPackages, repoRoot } from "../scripts/workspace-packages.mjs";

const run = promisify(execFile);
/** The packages the projects below install (every public package is packed and checked). */
const PACKAGES = ["@orch/core", "@orch/cli", "@orch/store-sqlite", "@orch/plugin-local", "@orch/testkit"];
const INSTALL_TIMEOUT = 15 * 60_000;

/** A child's environment as in a fresh shell: nothing from pnpm's script runner or from this vitest run. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
  for (const key of Object.keys(env)) if (/^(npm_|VITEST|NODE_OPTIONS$|PNPM_|TSX_)/i.test(key)) delete env[key];
  delete env.NODE_ENV;
  return env;
}

const extraEnv: NodeJS.ProcessEnv = {};

async function sh(command: string, args: string[], cwd: string, timeout = 120_000): Promise<{ stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env: { ...cleanEnv(), ...extraEnv }, timeout, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} (in ${cwd}) failed: ${e.message}\n--- stdout\n${e.stdout ?? ""}\n--- stderr\n${e.stderr ?? ""}`);
  }
}

async function registryProblem(): Promise<string | undefined> {
  try {
    await run("npm", ["view", "zod", "version"], { env: cleanEnv(), timeout: 60_000 });
    return undefined;
  } catch (error) {
    return `npm cannot reach the registry (${(error as Error).message.split("\n")[0]})`;
  }
}

/**
 * Serves the workspace's build of better-sqlite3 as the prebuilt-binary tarball prebuild-install asks
 * for; returns the mirror URL, or undefined when the workspace has no build (npm then compiles).
 */
async function servePrebuiltSqlite(work: string): Promise<{ url: string; server: Server } | undefined> {
  const require = createRequire(join(repoRoot, "packages", "store-sqlite", "package.json"));
  const pkgDir = join(require.resolve("better-sqlite3/package.json"), "..");
  const binary = join(pkgDir, "build", "Release", "better_sqlite3.node");
  if (!existsSync(binary)) return undefined;
  const { version } = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const file = join(work, name);
  await run("tar", ["-czf", file, "-C", pkgDir, "build/Release/better_sqlite3.node"]);
  const server = createServer((request, response) => {
    if (request.url?.endsWith(`/v${version}/${name}`)) response.writeHead(200, { "content-type": "application/gzip" }).end(readFileSync(file));
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, server };
}

// The tarballs, built and packed once for this file: every describe below uses them.
const packDir = realpathSync(mkdtempSync(join(tmpdir(), "orch-packed-")));
afterAll(() => rmSync(packDir, { recursive: true, force: true }));
let packed: { out: string; manifest: Record<string, string> } | undefined;
function packOnce(): { out: string; manifest: Record<string, string> } {
  if (!packed) {
    const out = packDir;
    const started = Date.now();
    // Every public package: the tarball checks below are `pnpm check:packages`, run on every test run.
    packed = packAll({ out, log: () => {} }) as { out: string; manifest: Record<string, string> };
    console.log(`[orch] built and packed ${Object.keys(packed.manifest).length} packages in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }
  return packed;
}

const problem = await registryProblem();
if (problem) console.warn(`[orch] SKIPPING the tests of orch installed outside the repository: ${problem}`);

describe.skipIf(problem)("orch outside this repository, installed from pnpm pack:all tarballs with npm", () => {
  const work = realpathSync(mkdtempSync(join(tmpdir(), "orch-outside-")));
  const tarballs = packDir;
  let manifest: Record<string, string>;
  let mirror: { url: string; server: Server } | undefined;
  const tarball = (name: string) => join(tarballs, manifest[name]!);

  beforeAll(async () => {
    mirror = await servePrebuiltSqlite(work);
    if (mirror) extraEnv.npm_config_better_sqlite3_binary_host = mirror.url;
    else console.warn("[orch] the workspace has no better-sqlite3 build to serve: npm compiles it (minutes)");
    expect(relative(realpathSync(repoRoot), work).startsWith("..")).toBe(true);
    ({ manifest } = packOnce());
  }, INSTALL_TIMEOUT);
  afterAll(() => {
    mirror?.server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("writes one installable tarball per package, without the in-repository source condition or workspace: ranges", () => {
    const names = (publicPackages() as { name: string }[]).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(PACKAGES));
    expect(Object.keys(manifest).sort()).toEqual([...names].sort());
    for (const name of names) {
      const packed = readTarball(tarball(name));
      expect(packed.manifest.name).toBe(name);
      expect(checkPackedManifest(packed), name).toEqual([]);
    }
  });

  it("publint, attw and the packed-manifest checks find no problem in any public package (pnpm check:packages)", { timeout: 300_000 }, () => {
    const tracked = trackedFiles();
    const packages = publicPackages() as { name: string; dir: string }[];
    expect(packages.flatMap((pkg) => checkTarball(tarball(pkg.name), pkg, { tracked }) as string[])).toEqual([]);
  });

  it("a project installs @orch/cli, @orch/core and @orch/plugin-local with npm, runs a pipeline and lists the run", { timeout: INSTALL_TIMEOUT }, async () => {
    const project = join(work, "project");
    mkdirSync(join(project, "src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "outside-project", private: true, type: "module" }, null, 2));
    writeFileSync(
      join(project, "src", "pipeline.ts"),
      [
        'import { pipeline, step, z } from "@orch/core";',
        'const load = step({ name: "load" }, (n: number) => Array.from({ length: n }, (_, i) => i + 1));',
        'const total = step({ name: "total" }, (xs: number[]) => { console.log(`total of ${xs.length} values`); return xs.reduce((a, b) => a + b, 0); });',
        'export const outside = pipeline({ name: "outside_sum", params: z.object({ n: z.number().default(4) }) }, (p) => { total(load(p.n)); });',
        "",
      ].join("\n"),
    );
    // The tarballs as a user passes them; @orch/store-sqlite is the CLI's dependency, not on npm yet.
    const install = await sh("npm", ["install", "--no-audit", "--no-fund", ...["@orch/cli", "@orch/core", "@orch/plugin-local", "@orch/store-sqlite"].map(tarball)], project, INSTALL_TIMEOUT);
    console.log(`[orch] npm install of @orch/cli, @orch/core, @orch/plugin-local: ${install.seconds.toFixed(0)}s`);
    // Installed copies, not links into the repository.
    for (const name of ["@orch/cli", "@orch/core", "@orch/plugin-local", "zod"]) {
      expect(realpathSync(join(project, "node_modules", name)).startsWith(project), name).toBe(true);
    }
    expect(existsSync(join(project, "node_modules", "@orch", "core", "src"))).toBe(false);

    const pipelineRun = await sh("npx", ["--no-install", "orch", "pipeline", "run", "src/pipeline.ts", "--param", "n=5"], project);
    const output = pipelineRun.stdout + pipelineRun.stderr;
    const runId = /Run (\S+) pipeline outside_sum/.exec(output)?.[1];
    expect(runId, output).toBeDefined();
    expect(output).toMatch(new RegExp(`Run ${runId} succeeded`));
    expect(existsSync(join(project, ".orch", "artifacts", "runs", runId!, "run.json"))).toBe(true);

    const list = await sh("npx", ["--no-install", "orch", "run", "list"], project);
    const row = list.stdout.split("\n").find((line) => line.startsWith(runId!));
    expect(row, list.stdout).toMatch(/outside_sum\s+default\s+succeeded\s+2\/2/);

    const logs = await sh("npx", ["--no-install", "orch", "run", "logs", runId!, "--step", "total"], project);
    expect(logs.stdout).toContain("total of 5 values");
  });

  it("the plugin template builds and passes its testkit suite with @orch/testkit from its tarball", { timeout: INSTALL_TIMEOUT }, async () => {
    const plugin = join(work, "orch-plugin-acme-batch");
    const { createPlugin } = (await import(pathToFileURL(join(repoRoot, "templates/orchestrator-plugin/create.mjs")).href)) as {
      createPlugin(options: { flavor: string; target: string }): Promise<string[]>;
    };
    await createPlugin({ flavor: "acme-batch", target: plugin });
    const pkgFile = join(plugin, "package.json");
    const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { devDependencies: Record<string, string>; overrides?: Record<string, string> };
    // Until orch is on npm: the template's ^0.1.0 ranges point at the tarballs (core also as testkit's peer).
    pkg.devDependencies["@orch/core"] = `file:${tarball("@orch/core")}`;
    pkg.devDependencies["@orch/testkit"] = `file:${tarball("@orch/testkit")}`;
    pkg.overrides = { "@orch/core": `file:${tarball("@orch/core")}` };
    writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));

    const install = await sh("npm", ["install", "--no-audit", "--no-fund"], plugin, INSTALL_TIMEOUT);
    console.log(`[orch] npm install of the plugin template: ${install.seconds.toFixed(0)}s`);
    await sh("npm", ["run", "build"], plugin, 300_000);
    expect(existsSync(join(plugin, "dist", "index.js"))).toBe(true);
    expect(existsSync(join(plugin, "dist", "index.d.ts"))).toBe(true);

    const tests = await sh("npx", ["--no-install", "vitest", "run", "--reporter=verbose"], plugin, 300_000);
    const output = tests.stdout + tests.stderr;
    expect(output).toContain("orch conformance: acme-batch");
    // Every test of the suite passed: none failed or was skipped.
    const [, passed, total] = /Tests\s+(\d+) passed \((\d+)\)/.exec(output) ?? [];
    expect(passed, output).toBeDefined();
    expect(passed).toBe(total);
  });
});

async function testPacked(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("node", [join(repoRoot, "scripts", "test-packed.mjs"), dir], { cwd: join(repoRoot, "plugins", "local"), env: cleanEnv(), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

// scripts/test-packed.mjs (CI: each plugin's tests against its packed tarball) really runs the suite on
// the tarball's build: plugin-local's tests pass on its tarball and fail on one whose build is broken.
describe("scripts/test-packed.mjs", () => {
  const work = realpathSync(mkdtempSync(join(tmpdir(), "orch-test-packed-")));
  let tarballName: string;
  beforeAll(() => {
    tarballName = packOnce().manifest["@orch/plugin-local"]!;
    mkdirSync(join(work, "good"), { recursive: true });
    cpSync(join(packDir, tarballName), join(work, "good", tarballName));
  }, INSTALL_TIMEOUT);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("runs the plugin's tests with its entry served from the tarball", { timeout: 300_000 }, async () => {
    const { code, output } = await testPacked(join(work, "good"));
    expect(code, output).toBe(0);
    expect(output).toMatch(/test-packed: @orch\/plugin-local — package\/dist\/index\.js \(\d+ imports?\) served from/);
  });

  it("fails when the tarball's build is broken", { timeout: 300_000 }, async () => {
    const unpacked = join(work, "unpacked");
    mkdirSync(unpacked, { recursive: true });
    await run("tar", ["-xzf", join(work, "good", tarballName), "-C", unpacked]);
    const entry = join(unpacked, "package", "dist", "index.js");
    writeFileSync(entry, `throw new Error("this build is broken");\n${readFileSync(entry, "utf8")}`);
    mkdirSync(join(work, "broken"), { recursive: true });
    await run("tar", ["-czf", join(work, "broken", tarballName), "-C", unpacked, "package"]);
    const { code, output } = await testPacked(join(work, "broken"));
    expect(code).toBe(1);
    expect(output).toContain("this build is broken");
  });
});
