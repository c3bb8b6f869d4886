/** Driving the real `orch` binary from tests, in a project that has this plugin (and the gcs store) installed. */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const orchBin = join(pluginRoot, "node_modules", ".bin", "orch");

export interface OrchResult {
  code: number;
  stdout: string;
  stderr: string;
}

const env = () => ({ ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "" });

/** `orch …args` in `cwd`: its exit code and output. */
export async function runOrch(cwd: string, ...args: string[]): Promise<OrchResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(orchBin, args, { cwd, env: env() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as OrchResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Starts `orch …args` without waiting (a run to stop while it is running). */
export function startOrch(cwd: string, ...args: string[]): Promise<OrchResult> {
  const child = spawn(orchBin, args, { cwd, env: env(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

/**
 * A fresh project under this package's .tmp (so @orch/core and @orch/plugin-gcs resolve from its
 * node_modules) with the fixture pipelines in src/pipeline.ts and this plugin linked into
 * node_modules, as `npm link` would.
 */
export function cliProject(prefix: string): string {
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  const project = mkdtempSync(join(pluginRoot, ".tmp", prefix));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: prefix.replace(/-+$/, ""), private: true, type: "module" }));
  mkdirSync(join(project, "src"));
  copyFileSync(join(pluginRoot, "test", "fixtures", "project", "src", "pipeline.ts"), join(project, "src", "pipeline.ts"));
  mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-vertex"), "dir");
  return project;
}
