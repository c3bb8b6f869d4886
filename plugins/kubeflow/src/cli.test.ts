/**
 * The real `orch` binary with a kubeflow + s3 stack (the loopback KFP API, s3rver, both on 127.0.0.1), in
 * a project with both plugins linked into node_modules: `orch pipeline run` runs, `orch run logs` shows
 * a step's log, `orch run stop` stops a running run, and a scheduled pipeline becomes a recurring run
 * that `orch schedule list` / `delete` manage.
 */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUCKET, createHarness, type Harness } from "../test/harness.js";

const pluginRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const orchBin = join(pluginRoot, "node_modules", ".bin", "orch");
const coreBin = join(pluginRoot, "..", "..", "packages", "core", "src", "entrypoint", "bin.ts");
const runBin = join(pluginRoot, "src", "bin", "run.ts");
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];
mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
const project = mkdtempSync(join(pluginRoot, ".tmp", "cli-kfp-"));
const env = { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "" };
let h: Harness;

async function orch(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(orchBin, args, { cwd: project, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
async function ok(...args: string[]) {
  const result = await orch(...args);
  expect(result.code, `orch ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result;
}

beforeAll(async () => {
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "cli-kfp", private: true, type: "module" }));
  mkdirSync(join(project, "src"));
  copyFileSync(join(pluginRoot, "test", "fixtures", "pipelines.ts"), join(project, "src", "pipelines.ts"));
  mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-kubeflow"), "dir");
  symlinkSync(join(pluginRoot, "..", "s3"), join(project, "node_modules", "@orch", "plugin-s3"), "dir");
  h = await createHarness({ projectRoot: project });
  await ok("init");
  await ok("artifact-store", "register", "bucket", "--flavor=s3", `--path=s3://${BUCKET}/cli`, `--endpoint=${h.s3.endpoint}`, "--force_path_style=true", `--access_key_id=${h.s3.credentials.accessKeyId}`, `--secret_access_key=${h.s3.credentials.secretAccessKey}`);
  await ok(
    "orchestrator",
    "register",
    "kfp",
    "--flavor=kubeflow",
    `--host=${h.kfp.url}`,
    "--image=orch-project:test",
    `--project_root=${project}`,
    `--entrypoint_command=${JSON.stringify([...node, coreBin])}`,
    `--run_command=${JSON.stringify([...node, runBin])}`,
    "--poll_interval_seconds=0.2",
  );
  await ok("stack", "register", "kfp", "-o", "kfp", "-a", "bucket", "--set");
}, 120_000);
afterAll(async () => {
  await h?.close();
  rmSync(project, { recursive: true, force: true });
});

describe("orch with a kubeflow + s3 stack", () => {
  it("orch pipeline run runs on KFP and orch run logs shows a step's log", async () => {
    await ok("pipeline", "run", "src/pipelines.ts#sumOfSquares", "--param", "count=3", "--param", "offset=1", "--run-id", "kfp-cli-1");
    const shown = JSON.parse((await ok("run", "show", "kfp-cli-1", "--json")).stdout);
    expect(JSON.stringify(shown)).toContain("succeeded");
    const logs = await ok("run", "logs", "kfp-cli-1", "--step", "make_numbers");
    expect(logs.stdout).toContain("making 3 numbers");
    expect([...h.kfp.runs.values()].find((r) => r.display_name === "kfp-cli-1")?.state).toBe("SUCCEEDED");
  }, 180_000);

  it("orch run stop stops a run that is running on KFP", async () => {
    const gate = join(project, "gate-never-opened");
    const child = spawn(orchBin, ["pipeline", "run", "src/pipelines.ts#gated", "--param", `gate=${gate}`, "--run-id", "kfp-cli-2"], { cwd: project, env, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    for (let i = 0; i < 600; i++) {
      const run = [...h.kfp.runs.values()].find((r) => r.display_name === "kfp-cli-2");
      if (run?.run_details?.task_details?.some((t) => t.display_name === "wait_for_gate" && t.state === "RUNNING")) break;
      await sleep(100);
    }
    await ok("run", "stop", "kfp-cli-2");
    expect([...h.kfp.runs.values()].find((r) => r.display_name === "kfp-cli-2")?.state).toMatch(/CANCEL/);
    await exited;
    const shown = JSON.stringify(JSON.parse((await ok("run", "show", "kfp-cli-2", "--json")).stdout));
    expect(shown).toContain("stopped");
  }, 180_000);

  it("a scheduled pipeline becomes a recurring run; orch schedule list and delete manage it", async () => {
    await ok("pipeline", "run", "src/pipelines.ts#nightly");
    const [recurring] = [...h.kfp.recurringRuns.values()];
    expect(recurring?.trigger?.cron_schedule?.cron).toBe("0 0 3 * * *");
    const listed = (await ok("schedule", "list", "--json")).stdout;
    expect(listed).toContain("nightly_numbers");
    const id = (JSON.parse(listed) as { id: string }[])[0]!.id;
    await ok("schedule", "delete", id);
    expect(h.kfp.recurringRuns.size).toBe(0);
  }, 180_000);
});
