import { execFile } from "node:child_process";
import { ORCH_LABELS } from "@orch/core/plugin";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineStack, localArtifactStore } from "@orch/core";
import { createLocalArtifactStore, parseComponentConfig, readRunRecord, type Orchestrator } from "@orch/core/plugin";
import { newRunId } from "@orch/core/host";
import { createDockerClient, defaultImageName } from "@orch/docker";
import plugin, { localDocker, onImageEvent, type ImageEvent } from "./index.js";
import { BASE_IMAGE, createFixtureProject, dockerRequired, loadFixturePipelines, probeDocker } from "./__fixtures__/docker-env.js";

const probe = await probeDocker();
if (!probe.available) {
  if (dockerRequired) {
    describe("local_docker on a real Docker engine", () => {
      it("has a Docker engine and the base image (ORCH_REQUIRE_DOCKER=1)", () => {
        throw new Error(`Docker tests cannot run: ${probe.reason}`);
      });
    });
  } else {
    console.warn(`[orch] SKIPPING the local_docker container tests: ${probe.reason}. Set ORCH_REQUIRE_DOCKER=1 to make this a failure.`);
  }
}

const docker = createDockerClient();

async function containersOf(runId: string) {
  return docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.runId}=${runId}`] } });
}

describe.skipIf(!probe.available)("local_docker on a real Docker engine", () => {
  let project: string;
  let pipelines: Awaited<ReturnType<typeof loadFixturePipelines>>;
  let events: ImageEvent[] = [];
  let builtImage: string | undefined;
  let unsubscribe: () => void;
  const stackOf = (name: string, config: Parameters<typeof localDocker>[0] = {}) =>
    defineStack({
      name,
      orchestrator: localDocker({ baseImage: BASE_IMAGE, network: "none", ...config }),
      artifactStore: localArtifactStore({ path: join(project, ".orch", name) }),
    });

  beforeAll(async () => {
    project = createFixtureProject();
    pipelines = await loadFixturePipelines(project);
    unsubscribe = onImageEvent((event) => events.push(event));
  });
  afterAll(async () => {
    unsubscribe?.();
    const images = await docker.listImages({ filters: { reference: [`${defaultImageName(project)}*`] } });
    for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    rmSync(project, { recursive: true, force: true });
  });

  it("runs the quickstart with every step in its own container, then reuses the image and the cached steps", async () => {
    events = [];
    const stack = stackOf("build");
    const first = await pipelines.quickstart.run({ stack, projectRoot: project, handleSignals: false });
    expect(first.status).toBe("succeeded");
    expect(first.steps.map((s) => [s.stepId, s.status])).toEqual([
      ["load_data", "succeeded"],
      ["split", "succeeded"],
      ["train", "succeeded"],
      ["evaluate", "succeeded"],
    ]);
    const model = await first.load(pipelines.train);
    expect(model).toMatchObject({ slope: 3, intercept: 2, pid: 1, uid: process.getuid?.() });
    const evaluation = await first.load(pipelines.evaluate);
    expect(evaluation.mse).toBeCloseTo(2, 5);
    expect(evaluation.hostname).not.toBe(hostname()); // ran in a container
    expect(first.run.orchestrator).toBe("local_docker");
    expect(events.some((e) => e.phase === "build")).toBe(true);
    const image = events.find((e) => e.phase === "done")!.image!;
    const imageId = (await docker.getImage(image).inspect()).Id;
    // Files the containers wrote in the artifact store belong to this user.
    const storeDir = join(project, ".orch", "build");
    expect(statSync(join(storeDir, "runs", first.runId, "steps.jsonl")).uid).toBe(process.getuid?.());
    const trained = first.steps.find((s) => s.stepId === "train")!.outputs.output!.artifactId;
    expect(statSync(join(storeDir, "artifacts", trained)).uid).toBe(process.getuid?.());
    expect(await containersOf(first.runId)).toEqual([]); // removed after each step

    events = [];
    const second = await pipelines.quickstart.run({ stack, projectRoot: project, handleSignals: false });
    expect(second.status).toBe("succeeded");
    expect(second.steps.map((s) => s.status)).toEqual(["cached", "cached", "cached", "cached"]);
    expect(events.some((e) => e.phase === "build" || e.phase === "done")).toBe(false);
    expect(events.find((e) => e.phase === "reuse")?.message).toContain(`reusing image ${image}`);
    expect((await docker.getImage(image).inspect()).Id).toBe(imageId);
    builtImage = image;
  });

  it("starts steps from a bundle precompiled at submit by default, and through tsx with precompile: false", async () => {
    const bundled = await pipelines.startup.run({ stack: stackOf("bundled", { mountSource: true }), projectRoot: project, handleSignals: false });
    const fromBundle = await bundled.load(pipelines.whereAmI);
    expect(fromBundle.compiledRoot).toMatch(/\/\.orch\/compiled\/[0-9a-f]{16}$/);
    expect(fromBundle.entry).toBe(join(fromBundle.compiledRoot!, "orch-entrypoint.js"));
    expect(fromBundle.typescriptLoader).toBe(false);
    const plain = await pipelines.startup.run({ stack: stackOf("tsx", { mountSource: true, precompile: false }), projectRoot: project, handleSignals: false });
    const fromSource = await plain.load(pipelines.whereAmI);
    expect(fromSource.compiledRoot).toBeNull();
    expect(fromSource.typescriptLoader).toBe(true);
    expect(fromSource.entry).toMatch(/src\/entrypoint\/bin\.ts$/);
  });

  it("runs steps in a prebuilt image given as `image`, building nothing", async () => {
    expect(builtImage).toBeDefined();
    events = [];
    const result = await pipelines.quickstart.run({ stack: stackOf("prebuilt", { image: builtImage! }), projectRoot: project, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(result.steps.every((s) => s.status === "succeeded")).toBe(true);
    expect(events.map((e) => e.phase)).toEqual(["reuse"]);
    expect(events[0]!.message).toBe(`using prebuilt image ${builtImage}`);
  });

  it("keeps an artifact store inside the project out of the image, so runs do not rebuild it", async () => {
    const stack = defineStack({
      name: "inside",
      orchestrator: localDocker({ baseImage: BASE_IMAGE, network: "none", imageName: "orch-store-inside-test" }),
      artifactStore: localArtifactStore({ path: "artifacts-in-project" }),
    });
    events = [];
    expect((await pipelines.retrying.run({ stack, projectRoot: project, handleSignals: false })).status).toBe("succeeded");
    const image = events.find((e) => e.phase === "done" || e.phase === "reuse")!.image!;
    events = [];
    expect((await pipelines.retrying.run({ stack, projectRoot: project, handleSignals: false })).status).toBe("succeeded");
    expect(events.find((e) => e.phase === "reuse")?.image).toBe(image);
    await docker.getImage(image).remove({ force: true }).catch(() => {});
    rmSync(join(project, "artifacts-in-project"), { recursive: true, force: true });
  });

  it("runs the quickstart from the read-only bind-mounted project in mountSource mode, without building", async () => {
    events = [];
    const result = await pipelines.quickstart.run({ stack: stackOf("mount", { mountSource: true }), projectRoot: project, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(result.steps.every((s) => s.status === "succeeded")).toBe(true);
    expect((await result.load(pipelines.train)).slope).toBe(3);
    expect(events.some((e) => e.phase === "build")).toBe(false);
    expect(events.find((e) => e.phase === "mount")?.message).toContain(project);
  });

  it("streams a failing step's container output (stdout and stderr) to the live view and into its log", async () => {
    const config = parseComponentConfig(plugin, { baseImage: BASE_IMAGE, network: "none", mountSource: true });
    const stack = stackOf("failing", { mountSource: true });
    const live: string[] = [];
    const result = await pipelines.failing.run({ stack, projectRoot: project, handleSignals: false, observer: { logLine: (stepId, line) => live.push(`${stepId}: ${line}`) } });
    expect(result.status).toBe("failed");
    expect(live).toContain("explode: container says: about to explode (marker-7f3a)"); // streamed to the live view as it ran
    expect(result.step("explode")?.error?.message).toContain("kaboom from inside the container");
    const orchestrator = await plugin.create(config, { projectRoot: project, stackName: "failing", artifactStore: result.artifactStore });
    const lines: string[] = [];
    for await (const line of orchestrator.logs!(result.runId, "explode")) lines.push(line);
    const log = lines.join("\n");
    expect(log).toContain("container says: about to explode (marker-7f3a)");
    expect(log).toContain("stderr says: goodbye (marker-9c2e)");
    expect(log).toContain("kaboom from inside the container");
    expect(log).toContain("step explode: failed");
    expect(log.match(/attempt 1 failed/g)).toHaveLength(1); // runner lines are not duplicated by the container copy
  });

  it("reports a step with memory: 64MB that allocates more as out of memory", async () => {
    const result = await pipelines.memoryHog.run({ stack: stackOf("oom", { mountSource: true }), projectRoot: project, handleSignals: false });
    expect(result.status).toBe("failed");
    const hog = result.step("hog")!;
    expect(hog.status).toBe("failed");
    expect(hog.error?.message).toMatch(/^out of memory/);
    expect(hog.error?.message).toContain("64 MB");
    const log = readFileSync(join(project, ".orch", "oom", "runs", result.runId, "logs", "hog.log"), "utf8");
    expect(log).toContain("allocating 512 MB (marker-hog)"); // the step itself ran, and was killed while allocating
  });

  it("records the exit code and the last output of a step process that dies without a result", async () => {
    const result = await pipelines.crashing.run({ stack: stackOf("crash", { mountSource: true }), projectRoot: project, handleSignals: false });
    const step = result.step("exit_hard")!;
    expect(step.status).toBe("failed");
    expect(step.error?.message).toContain("exit code 3");
    expect(step.error?.message).toContain("marker-exit");
  });

  it("fails a step at its timeout and kills a container its ignored function would keep alive", async () => {
    const result = await pipelines.timingOut.run({ stack: stackOf("timeout", { mountSource: true, timeoutGraceSeconds: 2 }), projectRoot: project, handleSignals: false });
    const step = result.step("stubborn")!;
    expect(step.status).toBe("failed");
    expect(step.error?.message).toContain("timed out after 1s");
    expect(await containersOf(result.runId)).toEqual([]);
  });

  it("stop() kills the run's containers and leaves none behind", async () => {
    const runId = newRunId();
    const stack = stackOf("stop", { mountSource: true, stopGraceSeconds: 1 });
    const running = pipelines.sleepy.run({ stack, projectRoot: project, runId, handleSignals: false });
    for (let i = 0; i < 900 && (await containersOf(runId)).filter((c) => c.State === "running").length < 2; i++) await sleep(100);
    expect((await containersOf(runId)).filter((c) => c.State === "running")).toHaveLength(2); // both sleepers, in parallel
    const store = createLocalArtifactStore(join(project, ".orch", "stop"));
    const config = parseComponentConfig(plugin, { baseImage: BASE_IMAGE, mountSource: true, stopGraceSeconds: 1 });
    const orchestrator: Orchestrator = await plugin.create(config, { projectRoot: project, stackName: "stop", artifactStore: store });
    await orchestrator.stop!(runId);
    expect(await containersOf(runId)).toEqual([]);
    const result = await running;
    expect(result.status).toBe("stopped");
    expect(result.steps.map((s) => s.status)).toEqual(["stopped", "stopped"]);
    expect((await readRunRecord(store, runId))?.status).toBe("stopped");
    expect(await containersOf(runId)).toEqual([]);
  });

  it("stop() from another process stops a run driven elsewhere: no new steps, no container left, run stopped", async () => {
    const runId = newRunId();
    const storePath = join(project, ".orch", "xproc");
    const script = join(project, "src", "run-sleepy.ts");
    writeFileSync(
      script,
      [
        `import { defineStack, localArtifactStore } from "@orch/core";`,
        `import { localDocker } from ${JSON.stringify(join(import.meta.dirname, "index.ts"))};`,
        `import { sleepy } from "./pipelines.ts";`,
        `const stack = defineStack({ name: "xproc", orchestrator: localDocker({ baseImage: ${JSON.stringify(BASE_IMAGE)}, mountSource: true, network: "none", stopGraceSeconds: 1, maxParallelism: 1 }), artifactStore: localArtifactStore({ path: ${JSON.stringify(storePath)} }) });`,
        `const result = await sleepy.run({ stack, runId: ${JSON.stringify(runId)}, projectRoot: ${JSON.stringify(project)} });`,
        `console.log("RESULT " + JSON.stringify({ status: result.status, steps: result.steps.map((s) => s.status) }));`,
      ].join("\n"),
    );
    const child = execFile(process.execPath, ["--conditions=@orch/source", "--import", "tsx", script], { cwd: project });
    let stdout = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      for (let i = 0; i < 900 && (await containersOf(runId)).filter((c) => c.State === "running").length < 1; i++) await sleep(100);
      expect((await containersOf(runId)).filter((c) => c.State === "running")).toHaveLength(1); // maxParallelism 1: the second sleeper waits
      const config = parseComponentConfig(plugin, { baseImage: BASE_IMAGE, mountSource: true, stopGraceSeconds: 1 });
      const store = createLocalArtifactStore(storePath);
      const orchestrator = await plugin.create(config, { projectRoot: project, stackName: "xproc", artifactStore: store });
      await orchestrator.stop!(runId);
      expect(await containersOf(runId)).toEqual([]);
      expect(await exited).toBe(0);
      expect(JSON.parse(stdout.split("RESULT ")[1]!)).toEqual({ status: "stopped", steps: ["stopped", "stopped"] });
      expect((await readRunRecord(store, runId))?.status).toBe("stopped");
      expect(await docker.listVolumes({ filters: { label: [`${ORCH_LABELS.component}=stop-request`, `${ORCH_LABELS.runId}=${runId}`] } }).then((v) => v.Volumes ?? [])).toEqual([]);
    } finally {
      child.kill();
    }
  });

  it("logs() with follow streams a running step's container output until it ends", async () => {
    const runId = newRunId();
    const stack = stackOf("follow", { mountSource: true });
    const running = pipelines.ticking.run({ stack, projectRoot: project, runId, handleSignals: false });
    for (let i = 0; i < 1800 && (await containersOf(runId)).filter((c) => c.State === "running").length < 1; i++) await sleep(50);
    const config = parseComponentConfig(plugin, { baseImage: BASE_IMAGE, mountSource: true });
    const orchestrator = await plugin.create(config, { projectRoot: project, stackName: "follow", artifactStore: createLocalArtifactStore(join(project, ".orch", "follow")) });
    const lines: string[] = [];
    for await (const line of orchestrator.logs!(runId, "ticker", { follow: true })) lines.push(line);
    expect(lines).toEqual(expect.arrayContaining(["tick 1", "tick 2", "tick 3", "tick 4"]));
    expect((await running).status).toBe("succeeded");
  });

  it("maps memory and cpuCount onto the container's limits, with env and network none", async () => {
    const result = await pipelines.resources.run({
      stack: stackOf("resources", { mountSource: true, env: { GREETING: "hello from config" } }),
      projectRoot: project,
      handleSignals: false,
    });
    expect(result.status).toBe("succeeded");
    const seen = await result.load(pipelines.limits);
    expect(seen.memory).toBe(String(256 * 2 ** 20));
    expect(seen.cpu).toMatch(/^50000 100000$/);
    expect(seen.env).toBe("hello from config");
    expect(seen.network).toEqual(["lo"]);
  });

  it("runs independent steps in parallel containers sharing a mounted volume", async () => {
    const shared = mkdtempSync(join(tmpdir(), "orch-shared-"));
    try {
      const result = await pipelines.parallel.run({
        stack: stackOf("parallel", { mountSource: true, volumes: [`${shared}:/shared:rw`], maxParallelism: 2 }),
        projectRoot: project,
        handleSignals: false,
      });
      expect(result.status).toBe("succeeded");
      expect(await result.load("rendezvous")).toBe("left met right");
      expect(await result.load("rendezvous_2")).toBe("right met left");
      expect(readdirSync(shared).sort()).toEqual(["left", "right"]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it("retries a failing step inside its container with the runner's policy", async () => {
    const result = await pipelines.retrying.run({ stack: stackOf("retry", { mountSource: true }), projectRoot: project, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(result.step("flaky")?.attempts).toBe(2);
    expect(await result.load(pipelines.flaky)).toBe(2);
  });

  it("runs a dynamic pipeline, launching each step it discovers in a container", async () => {
    const result = await pipelines.fanOut.run({ stack: stackOf("dynamic", { mountSource: true }), projectRoot: project, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(result.steps.map((s) => s.stepId).sort()).toEqual(["list_shards", "square", "square_2", "square_3", "total"]);
    expect(await result.load(pipelines.total)).toBe(14);
    expect(existsSync(join(project, ".orch", "dynamic", "runs", result.runId, "logs", "square_3.log"))).toBe(true);
  });
});
