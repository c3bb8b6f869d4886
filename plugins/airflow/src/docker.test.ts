/**
 * DockerOperator tasks for real: the loopback Airflow runs each task's container with `docker run` —
 * the DAG's image, entrypoint, command, environment, working_dir, network and the store's bind mount —
 * and the quickstart produces its model. The test image is orch-node-base:local with this checkout
 * mounted at the same path (it stands in for an image with the project installed).
 */
import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defineStack } from "@orch/core";
import { airflow } from "./index.js";
import { coreBin, createHarness, quickstartRoot, type Harness } from "../test/harness.js";
import { pythonMissing } from "../test/python.js";
import { repoRoot } from "../test/cli.js";
import { evaluateModel } from "../../../examples/quickstart/src/steps.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";

const IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";
const dockerMissing = (() => {
  try {
    execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "ignore" });
    return undefined;
  } catch {
    return `no Docker engine with the image ${IMAGE} (scripts/ci/setup-docker.sh builds it)`;
  }
})();
if (dockerMissing) console.warn(`[orch] SKIPPING the airflow DockerOperator-in-Docker test: ${dockerMissing}`);

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe.skipIf(pythonMissing || dockerMissing)("DockerOperator tasks in Docker", () => {
  it("runs the quickstart's tasks as containers of the DAG's image and produces the model", async () => {
    const repo = realpathSync(repoRoot);
    h = await createHarness({
      version: 2,
      docker: true,
      dockerArgs: ["--mount", `type=bind,source=${repo},target=${repo},readonly`],
      config: { operator: "docker", networkMode: "none", image: IMAGE, entrypointCommand: ["node", "--conditions=@orch/source", "--import", "tsx", coreBin] },
    });
    const storePath = realpathSync(join(h.storePath, ".."));
    const stack = defineStack({ name: "airflow", orchestrator: airflow(h.config), artifactStore: { flavor: "local", config: { path: join(storePath, "artifacts") } } });
    const result = await irisTraining.run({ stack, projectRoot: quickstartRoot, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(await result.load(evaluateModel)).toBeGreaterThan(0.8);
    // Each task ran in a container: its Airflow log is the container's output.
    const run = h.server.runs.get(`iris_training/${result.runId}`)!;
    const train = run.tasks.get("train_model")!;
    expect(train.logs.get(1)!.join("\n")).toContain("step train_model: succeeded");
    expect(train.argv!.slice(0, 4)).toEqual(["docker", "run", "--rm", "--network"]);
    expect(train.argv).toContain(IMAGE);
    expect(train.argv).toContain(`type=bind,source=${join(storePath, "artifacts")},target=${join(storePath, "artifacts")}`);
  }, 300_000);
});
