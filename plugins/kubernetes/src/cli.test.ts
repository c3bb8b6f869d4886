/**
 * The real `orch` binary against the loopback cluster, as a user drives it: `orch run logs` shows what
 * a step's container printed (console.log, stderr) for every attempt, the live view names the stack,
 * and `orch schedule delete` takes the id `orch schedule list` shows.
 */
import { join } from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProject, pluginRoot, runOrch } from "../test/cli.js";
import { createHarness, type Harness } from "../test/harness.js";

const coreBin = join(pluginRoot, "..", "..", "packages", "core", "src", "entrypoint", "bin.ts");
const scheduledBin = join(pluginRoot, "src", "bin", "scheduled-run.ts");
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];

const project = cliProject("cli-k8s-");
let h: Harness;
const orch = (...args: string[]) => runOrch(project, ...args);

beforeAll(async () => {
  h = await createHarness();
  expect((await orch("init")).code).toBe(0);
  const register = await orch(
    "orchestrator",
    "register",
    "k8s",
    "--flavor=kubernetes",
    `--kubeconfig=${h.kubeconfigPath}`,
    "--image=orch-quickstart:test",
    `--project_root=${project}`,
    `--entrypoint_command=${JSON.stringify([...node, coreBin])}`,
    `--scheduled_run_command=${JSON.stringify([...node, scheduledBin])}`,
  );
  expect(register.stderr).toBe("");
  expect((await orch("stack", "register", "k8s", "-o", "k8s", "-a", "default")).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await h?.close();
  rmSync(project, { recursive: true, force: true });
});

describe("orch with a kubernetes stack", () => {
  it("orch run logs shows each attempt's container output (console.log, stderr), and the live view names the stack", async () => {
    const marker = join(project, "crashed-once");
    const run = await orch("pipeline", "run", "src/pipeline.ts#noisyPipeline", "--stack", "k8s", "--param", `marker=${JSON.stringify(marker)}`);
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).toContain("on stack k8s");
    expect(run.stdout + run.stderr).not.toContain("on stack ?");
    const [listed] = JSON.parse((await orch("run", "list", "--json")).stdout) as { runId: string }[];
    const logs = await orch("run", "logs", listed!.runId, "--step", "noisy");
    expect(logs.code).toBe(0);
    // Both pods' output: the first crashed (exit 7) after printing, the Job controller's second succeeded.
    expect(logs.stdout).toMatch(/attempt 1: pod \S+ \(Failed: pod \S+ ended with exit code 7/);
    expect(logs.stdout).toContain("attempt 2: pod");
    expect(logs.stdout.match(/plain console\.log from the step/g)).toHaveLength(2);
    expect(logs.stdout.match(/plain console\.error from the step/g)).toHaveLength(2);
    expect(logs.stdout).toContain("step noisy: succeeded");
  }, 180_000);

  it("orch schedule delete takes the id orch schedule list shows (and the CronJob's name)", async () => {
    const scheduled = await orch("pipeline", "run", "src/pipeline.ts#nightly", "--stack", "k8s");
    expect(scheduled.code).toBe(0);
    expect(h.server.list("cronjobs")).toHaveLength(1);
    const [schedule] = JSON.parse((await orch("schedule", "list", "--json")).stdout) as { id: string; nativeId: string }[];
    const removed = await orch("schedule", "delete", schedule!.id);
    expect(removed.stderr).toBe("");
    expect(removed.code).toBe(0);
    expect(h.server.list("cronjobs")).toEqual([]);
    // The schedule's Secret went with its CronJob.
    expect(h.server.list("secrets").filter((s) => s.metadata.name.startsWith(schedule!.nativeId))).toEqual([]);
    // The CronJob's name (what `orch pipeline run` printed, and BY shows) works too.
    expect((await orch("pipeline", "run", "src/pipeline.ts#nightly", "--stack", "k8s")).code).toBe(0);
    const byNativeId = await orch("schedule", "delete", schedule!.nativeId);
    expect(byNativeId.stderr).toBe("");
    expect(byNativeId.stdout).toContain(`Deleted schedule "${schedule!.id}"`);
    expect(h.server.list("cronjobs")).toEqual([]);
    expect((await orch("schedule", "list", "--json")).stdout.trim()).toBe("[]");
  }, 120_000);
});
