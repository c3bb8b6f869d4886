/**
 * The real `orch` binary with a sagemaker + s3 stack, as a user drives it: the quickstart runs as a
 * SageMaker execution in the loopback AWS and its model loads back through core; `orch run logs`
 * reads the processing jobs' CloudWatch streams; `orch pipeline compile` writes the definition;
 * `orch run stop` stops an execution; a second run reuses the pipeline.
 */
import { copyFileSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOutput, readStepRecord } from "@orch/core/plugin";
import { definitionProblems } from "../test/check-definition.js";
import { runOrch, startOrch } from "../test/cli.js";
import { ROLE, coreBin, createHarness, node, pluginRoot, quickstartProject, removeProject, scheduledStepBin, until, type Harness } from "../test/harness.js";

const project = quickstartProject("cli-sagemaker-");
copyFileSync(join(pluginRoot, "test", "fixtures", "project", "src", "pipeline.ts"), join(project, "src", "fixture.ts"));
let h: Harness;
const orch = (...args: string[]) => runOrch(project, ...args);
async function ok(...args: string[]) {
  const result = await orch(...args);
  expect(result.code, `orch ${args.join(" ")}:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

beforeAll(async () => {
  h = await createHarness({ projectRoot: project });
  await ok("init");
  const store = h.storeConfig as { path: string; endpoint: string; accessKeyId: string; secretAccessKey: string };
  await ok("artifact-store", "register", "bucket", "--flavor=s3", `--path=${store.path}`, `--endpoint=${store.endpoint}`, "--force_path_style=true", `--access_key_id=${store.accessKeyId}`, `--secret_access_key=${store.secretAccessKey}`);
  await ok(
    "orchestrator",
    "register",
    "sm",
    "--flavor=sagemaker",
    `--execution_role=${ROLE}`,
    "--region=us-east-1",
    `--image=${h.config.image}`,
    `--project_root=${project}`,
    `--entrypoint_command=${JSON.stringify([...node, coreBin])}`,
    `--scheduled_step_command=${JSON.stringify([...node, scheduledStepBin])}`,
    `--endpoints=${JSON.stringify(h.config.endpoints)}`,
    "--poll_seconds=0.2",
  );
  await ok("stack", "register", "sm", "-o", "sm", "-a", "bucket");
}, 120_000);

afterAll(async () => {
  await h?.close();
  removeProject(project);
});

describe("orch with a sagemaker + s3 stack", () => {
  it("runs the quickstart as a SageMaker execution; its model loads through core; run logs come from CloudWatch", async () => {
    const runId = "quickstart-cli-1";
    const run = await ok("pipeline", "run", "src/pipeline.ts#irisTraining", "--stack", "sm", "--run-id", runId);
    expect(run.stdout + run.stderr).not.toContain("S3RVER");
    const shown = JSON.parse((await ok("run", "show", runId, "--json")).stdout);
    expect(JSON.stringify(shown)).toContain("succeeded");

    // The trained model and its accuracy, loaded from the bucket through core's materializers.
    await import(join(project, "src", "steps.ts")); // registers the quickstart's model materializer in this process
    const train = await readStepRecord(h.store, runId, "train_model");
    const model = await loadOutput<{ predict(rows: number[][]): unknown[] }>(h.store, Object.values(train!.outputs)[0]!);
    expect(model.predict([[5.1, 3.5, 1.4, 0.2]])).toHaveLength(1);
    const evaluate = await readStepRecord(h.store, runId, "evaluate_model");
    expect(await loadOutput<number>(h.store, Object.values(evaluate!.outputs)[0]!)).toBeGreaterThan(0.8);

    // SageMaker executed the definition it holds: five processing steps, each its own job and log stream.
    const execution = [...h.aws.executions.values()].find((e) => e.parameters.OrchRunId === runId)!;
    expect(execution.status).toBe("Succeeded");
    expect([...execution.steps.values()].every((s) => s.status === "Succeeded" && s.attempts === 1)).toBe(true);

    const logs = await ok("run", "logs", runId, "--step", "load_data");
    expect(logs.stdout).toMatch(/── processing job pipelines-[0-9a-f]+-load-data-/);
    expect(logs.stdout).toContain("step load_data: succeeded"); // printed by orch-entrypoint into the job's stream
  }, 240_000);

  it("a second run of the same pipeline reuses the SageMaker pipeline; a changed definition updates it", async () => {
    const writes = () => h.aws.calls.filter((c) => c === "SageMaker.CreatePipeline" || c === "SageMaker.UpdatePipeline");
    await ok("pipeline", "run", "src/pipeline.ts#irisTraining", "--stack", "sm", "--run-id", "quickstart-cli-2");
    const before = [...h.aws.pipelines.values()].find((p) => p.name.startsWith("orch-iris-training"))!;
    const version = before.version;
    const written = writes().length;
    await ok("pipeline", "run", "src/pipeline.ts#irisTraining", "--stack", "sm", "--run-id", "quickstart-cli-2b", "--param", "seed=7");
    expect(before.version).toBe(version);
    expect(writes()).toHaveLength(written);
    const second = [...h.aws.executions.values()].find((e) => e.parameters.OrchRunId === "quickstart-cli-2b")!;
    expect(second.parameters.seed).toBe("7");
    await ok("orchestrator", "update", "sm", "--volume_size_in_gb=64");
    await ok("pipeline", "run", "src/pipeline.ts#irisTraining", "--stack", "sm", "--run-id", "quickstart-cli-3");
    expect(before.version).toBe(version + 1);
    expect(JSON.parse(before.definition).Steps[0].Arguments.ProcessingResources.ClusterConfig.VolumeSizeInGB).toBe(64);
  }, 240_000);

  it("orch pipeline compile writes the definition SageMaker takes, plus the snapshot", async () => {
    await ok("pipeline", "compile", "src/pipeline.ts#irisTraining", "--stack", "sm", "--out", "out");
    expect(readdirSync(join(project, "out")).sort()).toEqual(["pipeline-definition.json", "snapshot.json"]);
    const definition = JSON.parse(readFileSync(join(project, "out", "pipeline-definition.json"), "utf8"));
    expect(definitionProblems(definition)).toEqual([]);
    expect(definition.Steps.map((s: { Name: string }) => s.Name)).toEqual(["load_data", "split_data", "train_model", "evaluate_model", "promote_model"]);
    expect(definition.Steps.find((s: { Name: string }) => s.Name === "train_model").Arguments.ProcessingResources.ClusterConfig.InstanceType).toBe("ml.m5.large");
  }, 120_000);

  it("orch run stop stops the execution: the running step ends stopped, later steps never run", async () => {
    const runId = "stop-cli-1";
    const gate = join(project, "never-opened");
    const running = startOrch(project, "pipeline", "run", "src/fixture.ts#gated", "--stack", "sm", "--run-id", runId, "--param", `gate=${gate}`);
    const execution = await until(() => [...h.aws.executions.values()].find((e) => e.parameters.OrchRunId === runId && e.steps.get("wait_for_gate")?.status === "Executing"), "the gate step to run");
    await until(async () => (await readStepRecord(h.store, runId, "wait_for_gate"))?.status === "running", "the gate step's record");
    const stopped = await orch("run", "stop", runId);
    expect(stopped.code, stopped.stderr).toBe(0);
    const result = await running.result;
    expect(result.code).not.toBe(0);
    expect(execution.status).toBe("Stopped");
    expect((await readStepRecord(h.store, runId, "wait_for_gate"))?.status).toBe("stopped");
    expect(execution.steps.get("after_gate")?.status).toBeUndefined();
    expect((await readStepRecord(h.store, runId, "after_gate"))?.status).toBe("stopped");
    const shown = await ok("run", "show", runId, "--json");
    expect(JSON.parse(shown.stdout).status ?? JSON.parse(shown.stdout).run?.status).toBe("stopped");
  }, 240_000);

  it("a scheduled pipeline becomes an EventBridge schedule that orch schedule list shows and orch schedule delete removes", async () => {
    const created = await ok("pipeline", "run", "src/fixture.ts#nightly", "--stack", "sm", "--param", "rows=3");
    const schedule = [...h.aws.schedules.values()].find((s) => s.Description === "orch schedule of pipeline nightly")!;
    expect(schedule.ScheduleExpression).toBe("cron(30 2 ? * 2-6 *)");
    expect(schedule.ScheduleExpressionTimezone).toBe("Europe/Berlin");
    expect(created.stdout + created.stderr).toContain(schedule.Name);
    const listed = await ok("schedule", "list");
    expect(listed.stdout).toContain(schedule.Name);
    await ok("schedule", "delete", schedule.Name);
    expect(h.aws.schedules.size).toBe(0);
    expect(h.aws.pipelines.has(schedule.Name)).toBe(false);
    const again = await orch("schedule", "delete", schedule.Name);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(schedule.Name);
  }, 120_000);
});
