/**
 * The loopback SageMaker running each processing job as a container of the step's image (Docker,
 * `orch-node-base:local`, host network) instead of a local process: the definition's ContainerEntrypoint,
 * ContainerArguments and Environment are all a job gets, as on SageMaker.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { readStepRecords } from "@orch/core/plugin";
import { coreBin, createHarness, pluginRoot, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

const IMAGE = "orch-node-base:local";
const projectRoot = join(pluginRoot, "test", "fixtures", "project");
const repoRoot = join(pluginRoot, "..", "..");

const missing = (() => {
  try {
    execFileSync("docker", ["image", "inspect", IMAGE], { stdio: "ignore", timeout: 30_000 });
    return undefined;
  } catch {
    return `no Docker engine with the ${IMAGE} image`;
  }
})();
if (missing) console.warn(`[orch] sagemaker docker test skipped: ${missing}`);

describe.skipIf(Boolean(missing))("processing jobs as containers", () => {
  let h: Harness;
  beforeAll(async () => {
    // The repository is mounted at its own path, so the image runs orch-entrypoint from source like the process jobs do.
    h = await createHarness({ projectRoot, aws: { docker: { mounts: [repoRoot] } }, config: { image: IMAGE, entrypointCommand: ["node", "--conditions=@orch/source", "--import", "tsx", coreBin] } });
  }, 60_000);
  afterAll(() => h?.close());

  it("runs the definition's steps in containers of its image, with only the definition's environment and the role's credentials", async () => {
    const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
    const handle = await h.runtime().submit(snapshot, { runId: "docker-1", signal: new AbortController().signal });
    const { run } = await handle.wait();
    expect(run.status).toBe("succeeded");
    expect((await readStepRecords(h.store, "docker-1")).map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    const logs: string[] = [];
    for await (const line of h.runtime().logs!("docker-1", "load_data")) logs.push(line);
    expect(logs.join("\n")).toContain("loaded 5 rows");
  }, 180_000);
});
