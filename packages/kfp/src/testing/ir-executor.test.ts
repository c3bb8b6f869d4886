import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalArtifactStore, entrypointCommand, findCoreDirectory, journalKeys, loadOutput, readStepRecord, serializeSnapshot, type Snapshot } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import { runnerSnapshot, toPipelineSpec } from "../index.js";
import { runPipelineSpec, type IrTaskEvent } from "./index.js";
import { failingPipeline, flakyPipeline, sumOfSquares } from "../../test/fixtures/pipelines.js";

const projectRoot = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const temp = await mkdtemp(join(tmpdir(), "orch-kfp-ir-"));
afterAll(() => rm(temp, { recursive: true, force: true }));
const store = createLocalArtifactStore(join(temp, "store"));
const entrypoint = entrypointCommand(findCoreDirectory(projectRoot), { node: process.execPath });
const repoRoot = fileURLToPath(new URL("../../../..", import.meta.url)).replace(/\/$/, "");
const dockerImage = "orch-node-base:local";
const dockerReady = spawnSync("docker", ["image", "inspect", dockerImage], { stdio: "ignore" }).status === 0;
if (!dockerReady) console.warn(`@orch/kfp IR executor: SKIPPED the Docker test: no Docker engine with the image ${dockerImage}.`);

/** What a KFP flavor does at submit: the snapshot for the step processes in the store, the IR to the backend. */
async function submit(snapshot: Snapshot) {
  const runId = newRunId();
  await store.write(journalKeys.snapshot(runId), serializeSnapshot(runnerSnapshot(snapshot)));
  const ir = toPipelineSpec(snapshot, { image: "orch-node-base:local", projectRoot, entrypoint, store });
  return { runId, ir };
}

describe("runPipelineSpec (test-only IR executor)", () => {
  it("runs each task's command from the IR in dependency order; the steps' outputs load through core", async () => {
    const { runId, ir } = await submit(compilePipeline(sumOfSquares, { count: 4, offset: 100 }, { projectRoot }).snapshot);
    const events: IrTaskEvent[] = [];
    const result = await runPipelineSpec({ ...ir, parameters: { orch_run_id: runId }, cwd: projectRoot, baseEnv: { PATH: process.env.PATH ?? "" }, onTask: (e) => events.push(e) });
    expect(result.state, JSON.stringify(result.tasks, null, 2)).toBe("SUCCEEDED");
    const started = events.filter((e) => e.state === "RUNNING").map((e) => e.displayName);
    expect(started).toEqual(["make_numbers", "square", "total"]);
    const record = await readStepRecord(store, runId, "total");
    expect(record?.status).toBe("succeeded");
    expect(await loadOutput(store, record!.outputs.output!)).toBe(100 + 1 + 4 + 9 + 16);
  });

  it.skipIf(!dockerReady)(`runs the tasks in Docker containers of ${dockerImage} ${dockerReady ? "" : "(SKIPPED: no Docker engine or image)"}`, async () => {
    const snapshot = compilePipeline(sumOfSquares, { count: 3, offset: 0 }, { projectRoot }).snapshot;
    const runId = newRunId();
    await store.write(journalKeys.snapshot(runId), serializeSnapshot(runnerSnapshot(snapshot)));
    // In the container, `node` is the image's (the host's path to node does not exist there).
    const ir = toPipelineSpec(snapshot, { image: dockerImage, projectRoot, entrypoint: entrypointCommand(findCoreDirectory(projectRoot)), store });
    const uid = `${process.getuid!()}:${process.getgid!()}`;
    const result = await runPipelineSpec({ ...ir, parameters: { orch_run_id: runId }, mode: "docker", cwd: projectRoot, docker: { mounts: [repoRoot, temp], network: "none", user: uid } });
    expect(result.state, JSON.stringify(result.tasks, null, 2)).toBe("SUCCEEDED");
    const record = await readStepRecord(store, runId, "total");
    expect(await loadOutput(store, record!.outputs.output!)).toBe(1 + 4 + 9);
  });

  it("retries a failing task per the IR's retryPolicy (a new process each time) and skips what depends on a failure", async () => {
    const dir = join(temp, "flaky");
    const { runId, ir } = await submit(compilePipeline(flakyPipeline, { dir, succeedOn: 3 }, { projectRoot }).snapshot);
    const result = await runPipelineSpec({ ...ir, parameters: { orch_run_id: runId }, cwd: projectRoot, baseEnv: { PATH: process.env.PATH ?? "" } });
    expect(result.state, JSON.stringify(result.tasks, null, 2)).toBe("SUCCEEDED");
    expect(result.tasks.flaky!.attempts).toBe(3);
    // The runner inside made one attempt per process: three executions in all, not nine.
    expect((await readFile(join(dir, `flaky-${runId}.count`), "utf8")).length).toBe(3);

    const failed = await submit(compilePipeline(failingPipeline, {}, { projectRoot }).snapshot);
    const outcome = await runPipelineSpec({ ...failed.ir, parameters: { orch_run_id: failed.runId }, cwd: projectRoot, baseEnv: { PATH: process.env.PATH ?? "" } });
    expect(outcome.state).toBe("FAILED");
    expect(outcome.tasks.failing!.state).toBe("FAILED");
    expect(outcome.tasks.failing!.log).toContain("this step always fails");
    expect(outcome.tasks["make-numbers"]!.state).toBe("SUCCEEDED");
  });

  it("fails a task whose run id parameter is missing, and one whose secret does not exist", async () => {
    const { ir } = await submit(compilePipeline(sumOfSquares, { count: 1, offset: 0 }, { projectRoot }).snapshot);
    const result = await runPipelineSpec({ ...ir, cwd: projectRoot });
    expect(result.state).toBe("FAILED");
    expect(result.tasks["make-numbers"]!.error).toContain("pipeline parameter orch_run_id has no value");
    expect(result.tasks.total!.state).toBe("SKIPPED");
    const withSecret = { ...ir, platformSpec: { platforms: { kubernetes: { deploymentSpec: { executors: { "exec-make-numbers": { secretAsEnv: [{ secretName: "absent", keyToEnv: [{ secretKey: "k", envVar: "K" }] }] } } } } } } };
    const second = await runPipelineSpec({ ...withSecret, parameters: { orch_run_id: "x" }, cwd: projectRoot });
    expect(second.tasks["make-numbers"]!.error).toBe("secret absent does not exist");
  });

  it("terminates: aborting kills the running task and cancels the rest", async () => {
    const ir = {
      pipelineSpec: {
        components: { "comp-a": { executorLabel: "exec-a" }, "comp-b": { executorLabel: "exec-b" } },
        deploymentSpec: { executors: { "exec-a": { container: { image: "x", command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"] } }, "exec-b": { container: { image: "x", command: ["true"] } } } },
        root: { dag: { tasks: { a: { taskInfo: { name: "a" }, componentRef: { name: "comp-a" } }, b: { taskInfo: { name: "b" }, componentRef: { name: "comp-b" }, dependentTasks: ["a"] } } } },
      },
    };
    const controller = new AbortController();
    const run = runPipelineSpec({ ...ir, signal: controller.signal, onTask: (e) => e.state === "RUNNING" && controller.abort() });
    const result = await run;
    expect(result.state).toBe("CANCELED");
    expect(result.tasks.a!.state).toBe("CANCELED");
    expect(result.tasks.b!.state).toBe("CANCELED");
  });
});
