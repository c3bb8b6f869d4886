/** Driving the real `orch` binary from tests, in a project that has this plugin installed. */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { pluginRoot } from "./harness.js";

const orchBin = join(pluginRoot, "node_modules", ".bin", "orch");
const env = () => ({ ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "" });

export interface OrchResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `orch …args` in `cwd` (the CLI from source, no colours, no user-wide home): its exit code and output. */
export async function runOrch(cwd: string, ...args: string[]): Promise<OrchResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(orchBin, args, { cwd, env: env() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as OrchResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Starts `orch …args` without waiting (a run to stop while it runs). */
export function startOrch(cwd: string, ...args: string[]): { result: Promise<OrchResult>; output(): string } {
  const child = spawn(orchBin, args, { cwd, env: env(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return { result: new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }))), output: () => stdout + stderr };
}
