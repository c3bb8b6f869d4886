/**
 * The real `orch` binary with an azureml + azure stack, as a user drives it: the quickstart project
 * with both plugins installed, the loopback ARM server as Azure (DefaultAzureCredential through a
 * managed identity, its certificate trusted through NODE_EXTRA_CA_CERTS) and Azurite as the store.
 * `orch pipeline compile` writes the pipeline job, `orch pipeline run` runs the quickstart and its
 * model loads back through core, `orch run logs` shows a step's lines, `orch run stop` cancels a run.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@orch/core";
import { createArtifactStore } from "@orch/core/plugin";
import { evaluateModel, trainModel } from "../../../examples/quickstart/src/steps.js";
import { azure } from "@orch/plugin-azure";
import { linkPlugin, pluginRoot, runOrch, startOrch } from "../test/cli.js";
import { ENTRYPOINT, RUN_COMMAND, createHarness, missing, type Harness } from "../test/harness.js";
import { imageProject } from "../test/project-image.js";

const skip = missing();
if (skip) console.warn(`[orch] azureml CLI tests skipped: ${skip}`);

let h: Harness;
let project: ReturnType<typeof imageProject>;
let env: Record<string, string>;
const orch = async (...args: string[]) => {
  const result = await runOrch(project.root, env, ...args);
  expect(result.code, `orch ${args.join(" ")}:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
};

describe.skipIf(skip)("orch with an azureml + azure stack", () => {
  beforeAll(async () => {
    // The user's project is what the image holds too (same folder: the server runs commands on this machine).
    project = imageProject();
    linkPlugin(project.root);
    copyFileSync(join(pluginRoot, "test", "fixtures", "project", "src", "pipeline.ts"), join(project.root, "src", "small.ts"));
    h = await createHarness({ projectRoot: project.root });
    env = h.identityEnv;
    await orch("init");
    await orch("artifact-store", "register", "az", "--flavor=azure", `--path=az://${h.container}/orch`, `--connection_string=${h.azurite.connectionString}`);
    await orch(
      "orchestrator", "register", "aml", "--flavor=azureml",
      "--subscription_id=00000000-1111-2222-3333-444444444444", "--resource_group=orch-test-rg", "--workspace=orch-test-ws", "--compute_target=cpu-cluster",
      "--image=orch-node-base:local", `--project_root=${project.root}`, `--entrypoint_command=${JSON.stringify(ENTRYPOINT)}`, `--run_command=${JSON.stringify(RUN_COMMAND)}`, `--endpoint=${h.server.url}`, "--poll_seconds=0.2",
    );
    await orch("stack", "register", "aml", "-o", "aml", "-a", "az", "--set");
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    project?.remove();
  });

  it("orch pipeline compile writes the Azure ML pipeline job", async () => {
    await orch("pipeline", "compile", "src/pipeline.ts#irisTraining", "--out", "out");
    const job = JSON.parse(readFileSync(join(project.root, "out", "pipeline-job.json"), "utf8"));
    expect(job.properties.jobType).toBe("Pipeline");
    expect(Object.keys(job.properties.jobs)).toEqual(["load_data", "split_data", "train_model", "evaluate_model", "promote_model"]);
    expect(existsSync(join(project.root, "out", "snapshot.json"))).toBe(true);
    expect(h.server.jobs.size).toBe(0); // compiling creates nothing in Azure
  });

  it("orch pipeline run runs the quickstart as a pipeline job; its model loads through core; orch run logs shows a step", async () => {
    const run = await orch("pipeline", "run", "src/pipeline.ts#irisTraining", "--run-id", "qs-cli-1");
    expect(run.stdout + run.stderr).toContain("qs-cli-1");
    expect(h.server.jobs.get("orch-qs-cli-1")?.status).toBe("Completed");
    const { store } = await createArtifactStore(azure({ path: `az://${h.container}/orch`, connectionString: h.azurite.connectionString }), project.root);
    const client = createClient(store);
    expect((await client.getRun("qs-cli-1")).status).toBe("succeeded");
    expect(await client.loadOutput("qs-cli-1", evaluateModel)).toBeGreaterThan(0.8);
    const model = await client.loadOutput("qs-cli-1", trainModel);
    expect(typeof (model as { predict?: unknown }).predict).toBe("function");
    const shown = await orch("run", "show", "qs-cli-1");
    // The run's page in Azure ML studio.
    expect(shown.stdout).toContain(`url: https://ml.azure.com/runs/orch-qs-cli-1?wsid=${encodeURIComponent("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/orch-test-rg/providers/Microsoft.MachineLearningServices/workspaces/orch-test-ws")}`);
    expect(shown.stdout).toContain("train_model");
    expect(shown.stdout).toContain("succeeded");
    const logs = await orch("run", "logs", "qs-cli-1", "--step", "load_data");
    expect(logs.stdout).toMatch(/INFO\s+loaded 150 iris flowers/);
  }, 240_000);

  it("refuses a misspelt config key and resources no VM size satisfies, before anything is created in Azure", async () => {
    const bad = await runOrch(project.root, env, "orchestrator", "register", "typo", "--flavor=azureml", "--subscriptin_id=x", "--resource_group=rg", "--workspace=ws", "--compute_target=c");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("subscription_id");
    const before = h.server.jobs.size;
    const huge = await runOrch(project.root, env, "pipeline", "run", "src/small.ts#hugePipeline");
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain("huge");
    expect(huge.stderr).toContain("settings.azureml.instanceType");
    expect(h.server.jobs.size).toBe(before);
  }, 120_000);

  it("orch run stop cancels a running pipeline job and the run ends stopped", async () => {
    const gate = join(mkdtempSync(join(tmpdir(), "orch-aml-cli-gate-")), "open");
    const running = startOrch(project.root, env, "pipeline", "run", "src/small.ts#gated", "--run-id", "qs-cli-stop", "--param", `gate=${gate}`);
    const deadline = Date.now() + 90_000;
    while (!h.server.jobs.get("orch-qs-cli-stop_wait_for_gate") || h.server.jobs.get("orch-qs-cli-stop_wait_for_gate")!.status !== "Running") {
      if (Date.now() > deadline) throw new Error("the gated step never ran");
      await new Promise((r) => setTimeout(r, 100));
    }
    await orch("run", "stop", "qs-cli-stop");
    const ended = await running;
    expect(ended.code).not.toBe(0);
    expect(h.server.jobs.get("orch-qs-cli-stop")!.status).toBe("Canceled");
    const shown = await orch("run", "show", "qs-cli-stop", "--json");
    expect(JSON.parse(shown.stdout).run.status).toBe("stopped");
    writeFileSync(gate, "");
  }, 240_000);

  it("each firing of a schedule is its own run in orch run list / orch run show; a firing whose step fails shows failed", async () => {
    const scheduleOf = (pipeline: string) => [...h.server.schedules.entries()].find(([, s]) => s.properties.tags?.["orch.pipeline"] === pipeline)?.[0];
    await orch("pipeline", "run", "src/small.ts#nightly");
    await orch("pipeline", "run", "src/small.ts#nightlyFailing");
    const nightly = scheduleOf("nightly")!;
    const failing = scheduleOf("nightly_failing")!;
    expect(nightly).toBeDefined();
    const fire = async (schedule: string) => {
      const job = h.server.fireSchedule(schedule);
      await h.server.waitFor(job, ["Completed", "Failed", "Canceled"]);
      return job;
    };
    const first = await fire(nightly);
    const second = await fire(nightly);
    const failed = await fire(failing);
    expect([h.server.jobs.get(first)!.status, h.server.jobs.get(second)!.status, h.server.jobs.get(failed)!.status]).toEqual(["Completed", "Completed", "Failed"]);
    // The runs started in Azure are in the bucket's journal: --sync brings them into orch run list.
    const listed = JSON.parse((await orch("run", "list", "--sync", "--json")).stdout) as { runId: string; pipeline: string; stack?: string }[];
    expect(listed.filter((r) => r.pipeline === "nightly").map((r) => r.runId).sort()).toEqual([first, second].sort());
    for (const runId of [first, second]) {
      const shown = JSON.parse((await orch("run", "show", runId, "--json")).stdout);
      expect(shown.run).toMatchObject({ runId, pipeline: "nightly", status: "succeeded", stack: "aml" });
      expect(shown.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual(runId === first ? [["load_data", "succeeded"], ["report", "succeeded"]] : [["load_data", "cached"], ["report", "cached"]]);
      expect(shown.run.url).toContain(`/runs/${runId}?`);
    }
    // Azure ML never starts the finalize node after a failed node: orch run list asked the orchestrator
    // about the run still "running" in the journal, which recorded its end from the pipeline job.
    // The end it recorded (the run's error, the step that never ran) is in the first show already.
    const shown = JSON.parse((await orch("run", "show", failed, "--json")).stdout);
    expect(shown.run).toMatchObject({ runId: failed, pipeline: "nightly_failing", status: "failed", error: { message: "Step always_fails failed." } });
    expect(shown.steps.find((s: { id: string }) => s.id === "always_fails")).toMatchObject({ status: "failed", error: { message: "this step always fails" } });
    expect(shown.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([["always_fails", "failed"], ["report", "skipped"]]);
  }, 300_000);
});
