/** Driving the real `orch` binary from tests, in a project that has this plugin installed. */
import { execFile, spawn } from "node:child_process";
import { symlinkSync } from "node:fs";
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

const cliEnv = (extra: Record<string, string>) => ({ ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "", ...extra });

/** `orch …args` in `cwd` (the CLI from source, no colours, no user-wide home): its exit code and output. */
export async function runOrch(cwd: string, env: Record<string, string>, ...args: string[]): Promise<OrchResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(orchBin, args, { cwd, env: cliEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as OrchResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `orch …args` started without waiting (a run to stop from another `orch`). */
export function startOrch(cwd: string, env: Record<string, string>, ...args: string[]): Promise<OrchResult> {
  const child = spawn(orchBin, args, { cwd, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** Installs this plugin into a project (linked, as `npm link` would). */
export function linkPlugin(project: string): void {
  symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-azureml"), "dir");
}
