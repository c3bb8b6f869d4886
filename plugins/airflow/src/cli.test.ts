/**
 * The real `orch` binary with an airflow stack, as a user drives it: register the orchestrator and a
 * stack, `orch pipeline run` the quickstart (the loopback Airflow parses the DAG file and runs its
 * tasks), `orch run list` / `orch run logs` show the run and the Airflow task logs, and the model the
 * run produced loads through core's client.
 */
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@orch/core";
import { pluginRoot, quickstartProject, runOrch } from "../test/cli.js";
import { coreBin, node, until } from "../test/harness.js";
import { startFakeAirflow, type FakeAirflow } from "../test/fake-airflow.js";
import { pythonMissing } from "../test/python.js";
import { evaluateModel } from "../../../examples/quickstart/src/steps.js";

const project = quickstartProject("airflow-cli-");
const orch = (...args: string[]) => runOrch(project, ...args);
let server: FakeAirflow;

beforeAll(async () => {
  server = await startFakeAirflow({ version: 2, dagsFolder: join(project, "dags"), username: "orch", password: "s3cret-pw" });
  expect((await orch("init")).code).toBe(0);
  const register = await orch(
    "orchestrator",
    "register",
    "af",
    "--flavor=airflow",
    `--host=${server.url}`,
    "--airflow_version=2",
    "--username=orch",
    "--password=s3cret-pw",
    "--dags_folder=dags",
    "--operator=docker",
    "--image=orch-quickstart:test",
    `--project_root=${project}`,
    `--entrypoint_command=${JSON.stringify([...node, coreBin])}`,
    "--poll_seconds=0.2",
  );
  expect(register.stderr).toBe("");
  expect(register.code).toBe(0);
  expect((await orch("stack", "register", "af", "-o", "af", "-a", "default")).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.close();
  rmSync(project, { recursive: true, force: true });
});

describe.skipIf(pythonMissing)("orch with an airflow stack", () => {
  it("runs the quickstart: the live view, the Airflow task logs, and a model that loads through core", async () => {
    const run = await orch("pipeline", "run", "src/pipeline.ts#irisTraining", "--stack", "af");
    expect(run.stderr + run.stdout).toContain("train_model");
    expect(run.code).toBe(0);
    const [listed] = JSON.parse((await orch("run", "list", "--json")).stdout) as { runId: string; status: string; orchestrator?: string }[];
    expect(listed!.status).toBe("succeeded");
    const logs = await orch("run", "logs", listed!.runId, "--step", "train_model");
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("── try 1: Airflow task train_model ──");
    expect(logs.stdout).toContain("Starting attempt 1 of 1");
    expect(logs.stdout).toContain("step train_model: succeeded");
    // The DAG file is in the folder Airflow reads, and holds no password.
    expect(server.dags.get("iris_training")?.fileloc).toBe("iris_training.py");
    const client = createClient(join(project, ".orch", "artifacts"));
    expect(await client.loadOutput(listed!.runId, evaluateModel)).toBeGreaterThan(0.8);
  }, 180_000);

  it("orch run stop ends a running airflow run: the DAG run is marked failed and the run is recorded stopped", async () => {
    writeFileSync(
      join(project, "src", "gated.ts"),
      `import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { getStepContext, pipeline, step } from "@orch/core";
export const waitForGate = step({ name: "wait_for_gate" }, async (gate: string) => {
  while (!existsSync(gate)) { getStepContext().signal.throwIfAborted(); await sleep(50); }
  return "opened";
});
export const gated = pipeline({ name: "gated" }, (p: { gate: string }) => { waitForGate(p.gate); });
`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1" };
    delete env.ORCH_HOME;
    const running = spawn(join(pluginRoot, "node_modules", ".bin", "orch"), ["pipeline", "run", "src/gated.ts#gated", "--stack", "af", "--param", `gate=${JSON.stringify(join(project, "never"))}`], { cwd: project, env });
    let output = "";
    running.stdout.on("data", (d: Buffer) => (output += d.toString()));
    running.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => running.on("close", resolve));
    const client = createClient(join(project, ".orch", "artifacts"));
    const runId = await until(async () => {
      const [run] = await client.listRuns({ pipeline: "gated", limit: 1 }).catch(() => []);
      if (!run) return undefined;
      const steps = await client.getSteps(run.runId);
      return steps.find((step) => step.stepId === "wait_for_gate")?.status === "running" ? run.runId : undefined;
    }, "the gated step to run", 90_000);
    await until(() => server.runs.get(`gated/${runId}`)?.tasks.get("wait_for_gate")?.state === "running", "the Airflow task to run", 90_000);
    const stopped = await orch("run", "stop", runId);
    expect(stopped.stderr + stopped.stdout).toContain(`Run ${runId} stopped`);
    expect(stopped.code).toBe(0);
    await exited;
    expect(output).toContain("stopped");
    expect(server.runs.get(`gated/${runId}`)?.state).toBe("failed");
    const [listed] = JSON.parse((await orch("run", "list", "--json")).stdout) as { runId: string; status: string }[];
    expect([listed!.runId, listed!.status]).toEqual([runId, "stopped"]);
  }, 180_000);
});
