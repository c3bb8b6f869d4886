/**
 * The repository's quickstart (iris → split → random forest → evaluate → promote) on a databricks stack,
 * with the real `orch` binary: the loopback workspace runs the job settings orch created — each task's
 * launcher and `orch-entrypoint step` as a process with its cluster's spark_env_vars — against s3rver,
 * and the model is loaded back through core.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createArtifactStore, type ArtifactStore } from "@orch/core/plugin";
import { createClient } from "@orch/core";
import { createTestProject, registerStack, type TestProject } from "../test/project.js";
import { evaluateModel, promoteModel, trainModel } from "../../../examples/quickstart/src/steps.js";

let project: TestProject;
let store: ArtifactStore;

beforeAll(async () => {
  project = await createTestProject("quickstart");
  await registerStack(project);
  const { s3 } = project;
  store = (
    await createArtifactStore(
      { flavor: "s3", config: { path: `s3://${project.bucket}/orch`, endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: s3.credentials.accessKeyId, secretAccessKey: s3.credentials.secretAccessKey } } as never,
      project.dir,
    )
  ).store;
}, 120_000);
afterAll(() => project?.close());

describe("the quickstart on databricks", () => {
  it("runs end to end through the job orch created, and produces its model", async () => {
    const runId = "dbx-quickstart-1";
    const run = await project.orch("pipeline", "run", "src/pipeline.ts#irisTraining", "--stack", "dbx", "--run-id", runId);
    expect(run.code, run.stderr).toBe(0);
    // One job with a task per step plus the start and finish tasks, run once.
    const [job] = [...project.workspace.jobs.values()];
    expect(job!.settings.tasks.map((t) => t.task_key)).toEqual(["orch.start", "load_data", "split_data", "train_model", "evaluate_model", "promote_model", "orch.finish"]);
    const [dbRun] = [...project.workspace.runs.values()];
    expect(dbRun!.state).toMatchObject({ life_cycle_state: "TERMINATED", result_state: "SUCCESS" });
    expect(dbRun!.parameters).toEqual({ orch_run_id: runId });
    // The credentials reached the tasks only as secret references.
    expect(JSON.stringify(job!.settings)).not.toContain(project.s3.credentials.secretAccessKey + '"');
    expect(JSON.stringify(job!.settings.job_clusters)).toMatch(/\{\{secrets\/orch\/store-[0-9a-f]+-AWS_SECRET_ACCESS_KEY\}\}/);

    const client = createClient(store);
    expect((await client.getRun(runId)).status).toBe("succeeded");
    const steps = await client.getSteps(runId);
    expect(steps.map((s) => [s.stepId, s.status]).sort()).toEqual([
      ["evaluate_model", "succeeded"],
      ["load_data", "succeeded"],
      ["promote_model", "succeeded"],
      ["split_data", "succeeded"],
      ["train_model", "succeeded"],
    ]);
    const model = await client.loadOutput(runId, trainModel);
    expect(typeof (model as { predict?: unknown }).predict).toBe("function");
    expect(await client.loadOutput(runId, evaluateModel)).toBeGreaterThan(0.8);
    expect((await client.loadOutput(runId, promoteModel)).promoted).toBe(true);

    const shown = JSON.parse((await project.ok("run", "show", runId, "--json")).stdout) as { run: { status: string } };
    expect(shown.run.status).toBe("succeeded");
    // orch run logs reads the task run's own output (runs/get-output of the task run, not the job run).
    const logs = await project.ok("run", "logs", runId, "--step", "train_model");
    expect(logs.stdout).toMatch(/attempt 1: task run \d+ \(TERMINATED\/SUCCESS\)/);
    expect(logs.stdout).toContain("step train_model: succeeded");
  }, 240_000);
});
