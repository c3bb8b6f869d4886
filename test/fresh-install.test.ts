// A fresh clone installs cleanly: `pnpm install --frozen-lockfile` before any build prints no
// "Failed to create bin" warning (a bin that points into dist/ cannot be linked before the build; the
// packages' bins are committed shims instead), and the linked bins run. Clones the committed HEAD of
// this repository, so it checks what was committed, not the working tree.
import { execFile } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../scripts/workspace-packages.mjs";

const run = promisify(execFile);

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const key of Object.keys(env)) if (/^(npm_|VITEST|NODE_OPTIONS$|PNPM_)/i.test(key)) delete env[key];
  delete env.NODE_ENV;
  return env;
}

describe("a fresh clone", () => {
  const clone = join(realpathSync(mkdtempSync(join(tmpdir(), "orch-fresh-clone-"))), "orch");
  afterAll(() => rmSync(join(clone, ".."), { recursive: true, force: true }));

  it("installs with pnpm install --frozen-lockfile without a 'Failed to create bin' warning, and its bins run", { timeout: 600_000 }, async () => {
    await run("git", ["clone", "--quiet", "--no-hardlinks", repoRoot, clone], { env: cleanEnv() });
    const install = await run("pnpm", ["install", "--frozen-lockfile"], { cwd: clone, env: cleanEnv(), timeout: 540_000, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`pnpm install failed in ${clone}: ${error.message}\n${error.stdout ?? ""}\n${error.stderr ?? ""}`);
    });
    const output = install.stdout + install.stderr;
    expect(output).toMatch(/Done in/);
    expect(output.split("\n").filter((line) => /Failed to create bin/i.test(line))).toEqual([]);
    // The bin pnpm linked is the committed shim; before any build it runs core from its sources.
    const entrypoint = await run(join(clone, "packages", "cli", "node_modules", ".bin", "orch-entrypoint"), ["--help"], { cwd: clone, env: cleanEnv() });
    expect(entrypoint.stdout).toContain("orch-entrypoint step --run-id ID");
  });
});
