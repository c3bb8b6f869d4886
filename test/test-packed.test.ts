// scripts/test-packed.mjs (CI: each plugin's tests against its packed tarball) really runs the suite on
// the tarball's build: plugin-local's tests pass on its tarball and fail on a tarball whose build is
// broken.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packAll } from "../scripts/pack-all.mjs";
import { repoRoot } from "../scripts/workspace-packages.mjs";

const run = promisify(execFile);
const pluginDir = join(repoRoot, "plugins", "local");

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  for (const key of Object.keys(env)) if (/^(npm_|VITEST|NODE_OPTIONS$|PNPM_)/i.test(key)) delete env[key];
  delete env.NODE_ENV;
  return env;
}

async function testPacked(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("node", [join(repoRoot, "scripts", "test-packed.mjs"), dir], { cwd: pluginDir, env: cleanEnv(), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("scripts/test-packed.mjs", () => {
  const work = realpathSync(mkdtempSync(join(tmpdir(), "orch-test-packed-")));
  let tarballName: string;
  beforeAll(() => {
    ({ manifest: { "@orch/plugin-local": tarballName } } = packAll({ out: join(work, "good"), only: ["@orch/plugin-local"], log: () => {} }) as { manifest: Record<string, string> });
  }, 600_000);
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
