// The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote)
// on a local_docker stack, in build mode and in mountSource mode.
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { defineStack, localArtifactStore, type PipelineDefinition } from "@orch/core";
import { createDockerClient } from "@orch/docker";
import { localDocker, onImageEvent, type ImageEvent } from "./index.js";
import { BASE_IMAGE, probeDocker } from "./__fixtures__/docker-env.js";

const quickstartRoot = realpathSync(fileURLToPath(new URL("../../../examples/quickstart", import.meta.url)));
const pipelineFile = join(quickstartRoot, "src", "pipeline.ts");
const probe = await probeDocker();
const present = existsSync(pipelineFile);
if (!present) console.warn(`[orch] SKIPPING the quickstart-on-docker tests: ${pipelineFile} does not exist.`);
// Without an engine, local-docker.test.ts reports (or fails under ORCH_REQUIRE_DOCKER=1).

describe.skipIf(!probe.available || !present)("the quickstart on a local_docker stack", () => {
  const stores = realpathSync(mkdtempSync(join(tmpdir(), "orch-quickstart-docker-")));
  const docker = createDockerClient();
  const built = new Set<string>();
  afterAll(async () => {
    for (const image of built) await docker.getImage(image).remove({ force: true }).catch(() => {});
    rmSync(stores, { recursive: true, force: true });
  });

  async function run(name: string, config: Parameters<typeof localDocker>[0]) {
    const { irisTraining } = (await import(pipelineFile)) as { irisTraining: PipelineDefinition };
    const events: ImageEvent[] = [];
    const stop = onImageEvent((event) => events.push(event));
    try {
      const stack = defineStack({
        name,
        orchestrator: localDocker({ baseImage: BASE_IMAGE, network: "none", ...config }),
        artifactStore: localArtifactStore({ path: join(stores, name) }),
      });
      const result = await irisTraining.run({ stack, projectRoot: quickstartRoot, handleSignals: false });
      for (const event of events) if (event.phase === "done" && event.image) built.add(event.image);
      return { result, events };
    } finally {
      stop();
    }
  }

  const STEPS = ["load_data", "split_data", "train_model", "evaluate_model", "promote_model"];

  it("runs end to end in build mode, and a re-run reuses the image and every cached step", async () => {
    const first = await run("build", {});
    expect(first.result.status).toBe("succeeded");
    expect(first.result.steps.map((s) => [s.stepId, s.status])).toEqual(STEPS.map((id) => [id, "succeeded"]));
    expect(await first.result.load("evaluate_model")).toBeGreaterThan(0.9);
    const image = first.events.find((e) => e.phase === "done" || e.phase === "reuse")!.image!;
    const imageId = (await docker.getImage(image).inspect()).Id;

    const second = await run("build", {});
    expect(second.result.status).toBe("succeeded");
    expect(second.result.steps.map((s) => s.status)).toEqual(STEPS.map(() => "cached"));
    expect(second.events.some((e) => e.phase === "build" || e.phase === "done")).toBe(false);
    expect(second.events.find((e) => e.phase === "reuse")?.image).toBe(image);
    expect((await docker.getImage(image).inspect()).Id).toBe(imageId);
  });

  it("runs end to end in mountSource mode", async () => {
    const { result, events } = await run("mount", { mountSource: true });
    expect(result.status).toBe("succeeded");
    expect(result.steps.map((s) => s.status)).toEqual(STEPS.map(() => "succeeded"));
    expect(await result.load("evaluate_model")).toBeGreaterThan(0.9);
    expect(events.some((e) => e.phase === "build")).toBe(false);
  });
});
