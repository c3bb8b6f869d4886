// After kill -9 of the process driving a local_docker run, its step containers are orphans: nothing
// would ever remove them. The next run on the engine (or a resume of that run) removes them.
import { ORCH_LABELS } from "@orch/core/plugin";
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineStack, localArtifactStore } from "@orch/core";
import { newRunId } from "@orch/core/host";
import { createDockerClient } from "@orch/docker";
import { localDocker } from "./index.js";
import { BASE_IMAGE, createFixtureProject, dockerRequired, loadFixturePipelines, probeDocker } from "./__fixtures__/docker-env.js";

const probe = await probeDocker();
if (!probe.available) {
  if (dockerRequired) {
    describe("leftover containers", () => {
      it("has a Docker engine and the base image (ORCH_REQUIRE_DOCKER=1)", () => {
        throw new Error(`Docker tests cannot run: ${probe.reason}`);
      });
    });
  } else {
    console.warn(`[orch] SKIPPING the local_docker leftover-container tests: ${probe.reason}. Set ORCH_REQUIRE_DOCKER=1 to make this a failure.`);
  }
}

const docker = createDockerClient();
const containersOf = (runId: string) => docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.runId}=${runId}`] } });

describe.skipIf(!probe.available)("leftover containers of a killed run", () => {
  let project: string;
  let pipelines: Awaited<ReturnType<typeof loadFixturePipelines>>;
  beforeAll(async () => {
    project = createFixtureProject();
    pipelines = await loadFixturePipelines(project);
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  /** Starts the sleepy pipeline in a child process, waits for a running container, then kill -9s the child. */
  async function killedRun(storePath: string): Promise<string> {
    const runId = newRunId();
    const script = join(project, "src", `run-${runId}.ts`);
    writeFileSync(
      script,
      [
        `import { defineStack, localArtifactStore } from "@orch/core";`,
        `import { localDocker } from ${JSON.stringify(join(import.meta.dirname, "index.ts"))};`,
        `import { sleepy } from "./pipelines.ts";`,
        `const stack = defineStack({ name: "leftovers", orchestrator: localDocker({ baseImage: ${JSON.stringify(BASE_IMAGE)}, mountSource: true, network: "none", maxParallelism: 1 }), artifactStore: localArtifactStore({ path: ${JSON.stringify(storePath)} }) });`,
        `await sleepy.run({ stack, runId: ${JSON.stringify(runId)}, projectRoot: ${JSON.stringify(project)} });`,
      ].join("\n"),
    );
    const child = spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", script], { cwd: project, stdio: "ignore" });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    for (let i = 0; i < 900 && (await containersOf(runId)).filter((c) => c.State === "running").length < 1; i++) await sleep(100);
    expect((await containersOf(runId)).filter((c) => c.State === "running")).toHaveLength(1);
    child.kill("SIGKILL");
    await exited;
    expect(await containersOf(runId)).toHaveLength(1); // orphaned: still there
    return runId;
  }

  it("the next run on the stack removes the containers a kill -9'd run left behind", async () => {
    const storePath = join(project, ".orch", "leftovers");
    const runId = await killedRun(storePath);
    const stack = defineStack({ name: "leftovers", orchestrator: localDocker({ baseImage: BASE_IMAGE, mountSource: true, network: "none" }), artifactStore: localArtifactStore({ path: storePath }) });
    const next = await pipelines.noops.run({ stack, projectRoot: project, params: { count: 1 }, handleSignals: false });
    expect(next.status).toBe("succeeded");
    expect(await containersOf(runId)).toEqual([]);
  }, 180_000);
});
