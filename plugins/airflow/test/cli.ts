/** Driving the real `orch` binary from tests, in a copy of the quickstart that has this plugin installed. */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const pluginRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
export const repoRoot = join(pluginRoot, "..", "..");
const orchBin = join(pluginRoot, "node_modules", ".bin", "orch");

export interface OrchResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `orch …args` in `cwd` (the CLI from source, no colours, no user-wide home): its exit code and output. */
export async function runOrch(cwd: string, ...args: string[]): Promise<OrchResult> {
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1" };
    delete env.ORCH_HOME;
    const { stdout, stderr } = await promisify(execFile)(orchBin, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as OrchResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * A copy of the quickstart's sources in a fresh project under examples/quickstart/.tmp (so its
 * dependencies — @orch/core, ml-random-forest — resolve from the quickstart's node_modules), with this
 * plugin linked into its node_modules, as `npm link` would.
 */
export function quickstartProject(prefix: string): string {
  const parent = join(repoRoot, "examples", "quickstart", ".tmp");
  mkdirSync(parent, { recursive: true });
  const project = mkdtempSync(join(parent, prefix));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: prefix.replace(/-+$/, ""), private: true, type: "module" }));
  cpSync(join(repoRoot, "examples", "quickstart", "src"), join(project, "src"), { recursive: true, filter: (source) => !source.endsWith(".test.ts") });
  mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-airflow"), "dir");
  return project;
}
