/**
 * The real `orch` binary with a vertex stack, as a user drives it: the orchestrator registered with
 * ZenML's flags (--project, --location), a run on the loopback Vertex AI server with its console URL,
 * `orch run logs`, `orch run stop` on a running run, schedules listed and deleted, and bad config
 * keys refused with the key named.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProject, pluginRoot, runOrch, startOrch } from "../test/cli.js";
import { createHarness, until, type Harness } from "../test/harness.js";

const coreBin = join(pluginRoot, "..", "..", "packages", "core", "src", "entrypoint", "bin.ts");
const runBin = join(pluginRoot, "src", "bin", "vertex-run.ts");
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];

const project = cliProject("cli-vertex-");
let h: Harness;
const orch = (...args: string[]) => runOrch(project, ...args);

beforeAll(async () => {
  h = await createHarness({ projectRoot: project });
  expect((await orch("init")).code).toBe(0);
  const register = await orch(
    "orchestrator",
    "register",
    "vx",
    "--flavor=vertex",
    "--project=orch-test-project",
    "--location=us-central1",
    "--image=us-docker.pkg.dev/orch-test-project/ml/project:test",
    `--key_file=${h.keyFile}`,
    `--api_endpoint=${h.vertex.url}`,
    `--project_root=${project}`,
    `--entrypoint_command=${JSON.stringify([...node, coreBin])}`,
    `--run_command=${JSON.stringify([...node, runBin])}`,
    "--poll_seconds=0.2",
  );
  expect(register.stderr).toBe("");
  expect(register.code).toBe(0);
  expect((await orch("artifact-store", "register", "bucket", "--flavor=gcs", `--path=${h.storeConfig.path}`, `--api_endpoint=${h.storeConfig.apiEndpoint}`)).code).toBe(0);
  expect((await orch("stack", "register", "vx", "-o", "vx", "-a", "bucket")).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await h?.close();
  rmSync(project, { recursive: true, force: true });
});

describe("orch with a vertex stack", () => {
  it("runs a pipeline on Vertex AI, shows its logs, and stops a running run", async () => {
    const run = await orch("pipeline", "run", "src/pipeline.ts#sumPipeline", "--stack", "vx", "--param", "n=5");
    expect(run.stderr).toContain("https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/orch-");
    expect(run.code).toBe(0);
    const [listed] = JSON.parse((await orch("run", "list", "--json")).stdout) as { runId: string; status: string }[];
    expect(listed!.status).toBe("succeeded");
    const shown = await orch("run", "show", listed!.runId);
    expect(shown.stdout).toContain(`url: https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/orch-${listed!.runId}?project=orch-test-project`);
    const logs = await orch("run", "logs", listed!.runId, "--step", "load");
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("loading 5 numbers");

    const gatePath = join(project, "gate-never-opened");
    const running = startOrch(project, "pipeline", "run", "src/pipeline.ts#gated", "--stack", "vx", "--param", `gatePath=${JSON.stringify(gatePath)}`);
    const job = await until(() => [...h.vertex.jobs.values()].find((j) => j.displayName === "vertex_gated" && j.state === "PIPELINE_STATE_RUNNING"), "the gated run on Vertex");
    const runId = job.labels["orch-run-id"];
    await until(async () => (await h.store.read(`runs/${runId}/steps/gate.json`)) && JSON.parse(Buffer.from((await h.store.read(`runs/${runId}/steps/gate.json`))!).toString()).status === "running", "the gate step running");
    const stopped = await orch("run", "stop", runId);
    expect(stopped.code).toBe(0);
    const ended = await running;
    expect(ended.code).not.toBe(0);
    expect(job.state).toBe("PIPELINE_STATE_CANCELLED");
    const show = JSON.parse((await orch("run", "show", runId, "--json")).stdout) as { run: { status: string }; steps: { id: string; status: string }[] };
    expect(show.run.status).toBe("stopped");
    expect(show.steps.map((s) => `${s.id}:${s.status}`)).toEqual(["gate:stopped", "after_gate:stopped"]);
    expect(existsSync(gatePath)).toBe(false);
  }, 240_000);

  it("refuses bad config keys and values, naming the key", async () => {
    const typo = await orch("orchestrator", "register", "bad1", "--flavor=vertex", "--locaton=us-central1", "--image=x");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/locaton/);
    expect(typo.stderr).toMatch(/location/);
    const badProject = await orch("orchestrator", "register", "bad2", "--flavor=vertex", "--project=My_Project", "--image=x");
    expect(badProject.code).toBe(2);
    expect(badProject.stderr).toMatch(/project/);
    expect(badProject.stderr).toMatch(/Google Cloud project id/);
    const noImage = await orch("orchestrator", "register", "bad3", "--flavor=vertex", "--project=my-project");
    expect(noImage.code).toBe(2);
    expect(noImage.stderr).toMatch(/image/);
    const badLabel = await orch("orchestrator", "register", "bad4", "--flavor=vertex", "--image=x", `--labels=${JSON.stringify({ Team: "ML" })}`);
    expect(badLabel.code).toBe(2);
    expect(badLabel.stderr).toMatch(/label/);
  }, 60_000);
});
