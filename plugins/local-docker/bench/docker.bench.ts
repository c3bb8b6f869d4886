// Per-step overhead of a local_docker run over bare `docker run`s of the same image doing the same
// work, measured in the same process and run: N no-op steps run one after another (maxParallelism 1)
// through pipeline.run(), against N `docker run --rm` of the same image.
//
// Two baselines:
//  - "same work": `docker run --rm IMAGE node -e 0` — what the step computes, without orch at all.
//    The difference is everything orch adds: the scheduler, container create/attach/wait/remove through
//    dockerode, log capture, and orch-entrypoint's start-up in the container (@orch/core and the
//    user's module from the bundle precompiled at submit, the step record and artifact writes).
//  - "same command": `docker run --rm IMAGE <the exact orch-entrypoint step command>` — the
//    difference is orch's host-side orchestration alone.
import { execFile } from "node:child_process";
import { mkdirSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { compile, defineStack, localArtifactStore } from "@orch/core";
import { createLocalArtifactStore, journalKeys, serializeSnapshot } from "@orch/core/plugin";
import { newRunId } from "@orch/core/host";
import { localDocker, onImageEvent } from "../src/index.js";
import { precompileProject } from "../src/precompile.js";
import { BASE_IMAGE, createFixtureProject, loadFixturePipelines, probeDocker } from "../src/__fixtures__/docker-env.js";

const STEPS = 5;
const REPEATS = 3;
const exec = promisify(execFile);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function run(): Promise<Record<string, { medianMs: number; budgetMs: number }>> {
  const probe = await probeDocker();
  if (!probe.available) throw new Error(`local_docker bench needs Docker: ${probe.reason}`);
  const project = createFixtureProject("orch-docker-bench-");
  try {
    const { noops } = await loadFixturePipelines(project);
    let image: string | undefined;
    const stop = onImageEvent((event) => {
      if (event.image && (event.phase === "done" || event.phase === "reuse")) image = event.image;
    });
    const stackFor = (i: number) =>
      defineStack({
        name: "bench",
        orchestrator: localDocker({ baseImage: BASE_IMAGE, network: "none", maxParallelism: 1 }),
        artifactStore: localArtifactStore({ path: join(project, ".orch", `bench-${i}`) }),
      });
    // Warm-up: builds the image and fills tsx's transform cache; not measured.
    const warm = await noops.run({ stack: stackFor(0), projectRoot: project, params: { count: 1 }, handleSignals: false });
    if (warm.status !== "succeeded") throw new Error(`warm-up run ${warm.status}: ${warm.steps[0]?.error?.message}`);
    stop();
    if (!image) throw new Error("the warm-up run reported no image");

    const uid = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const bare = (args: string[]) => exec("docker", ["run", "--rm", "--network", "none", "-u", uid, ...args]);

    const orch: number[] = [];
    const sameWork: number[] = [];
    const sameCommand: number[] = [];
    for (let rep = 1; rep <= REPEATS; rep++) {
      let start = performance.now();
      const result = await noops.run({ stack: stackFor(rep), projectRoot: project, params: { count: STEPS }, handleSignals: false });
      orch.push((performance.now() - start) / STEPS);
      if (result.status !== "succeeded") throw new Error(`bench run ${result.status}`);

      start = performance.now();
      for (let i = 0; i < STEPS; i++) await bare([image, "node", "-e", "0"]);
      sameWork.push((performance.now() - start) / STEPS);

      // The same orch-entrypoint command the orchestrator starts, for a journal prepared by hand.
      const storePath = join(project, ".orch", `bare-${rep}`);
      mkdirSync(storePath, { recursive: true });
      const store = createLocalArtifactStore(storePath);
      const snapshot = compile(noops, { count: STEPS }, { projectRoot: project });
      const runId = newRunId();
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      // The same precompiled bundle and command the orchestrator starts (the fixture links @orch/core;
      // the container sees the link target at the same path).
      const compiled = await precompileProject({ projectRoot: realpathSync(project), coreDir: realpathSync(join(project, "node_modules", "@orch", "core")), snapshot });
      start = performance.now();
      for (const stepId of snapshot.order) {
        await bare([
          "-v", `${storePath}:${storePath}:rw`,
          "-v", `${compiled.dir}:${compiled.dir}:ro`,
          "-e", `ORCH_COMPILED_ROOT=${compiled.dir}`,
          "-w", project,
          image,
          "node", compiled.entrypoint,
          "step", "--run-id", runId, "--step", stepId,
          "--artifact-store", JSON.stringify(store.describe()),
          "--project-root", project,
        ]);
      }
      sameCommand.push((performance.now() - start) / STEPS);
    }
    const fmt = (values: number[]) => values.map((v) => v.toFixed(0)).join(", ");
    console.log(`  per step, ms — local_docker run: ${fmt(orch)}; bare docker run node -e 0: ${fmt(sameWork)}; bare docker run of orch-entrypoint: ${fmt(sameCommand)}`);
    const overWork = orch.map((v, i) => v - sameWork[i]!);
    const overCommand = orch.map((v, i) => v - sameCommand[i]!);
    return {
      "local_docker per-step overhead vs bare docker run (same work)": { medianMs: median(overWork), budgetMs: 150 },
      "  of which host-side orchestration (vs bare run of the same command)": { medianMs: median(overCommand), budgetMs: 150 },
    };
  } finally {
    const { createDockerClient } = await import("@orch/docker");
    const docker = createDockerClient();
    const repository = project.split("/").pop()!.toLowerCase();
    for (const image of await docker.listImages({ filters: { reference: [`${repository}*`, `orch-${repository}*`] } })) {
      await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    }
    rmSync(project, { recursive: true, force: true });
  }
}
