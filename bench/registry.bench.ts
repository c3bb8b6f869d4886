// The image step of a no-change `orch pipeline run` on local_docker with a container registry, for
// this repository's quickstart: hash the build context (the stat cache makes that stat-only), ask the
// engine for the tag, HEAD the manifest in the registry — no build, no push. Measured in a new process
// each time, as each `orch pipeline run` is one (Node and tsx start-up are not counted: they are the
// same without a registry). The registry is Debian's docker-registry on 127.0.0.1.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildProjectImage, createDockerClient, inspectImage } from "../packages/docker/src/index.js";
import { registryMissing, startRegistry } from "../packages/docker/test/registry-server.js";
import { median, type BenchResult } from "./measure.js";

const REPEATS = 7;
const BASE_IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";
const quickstart = fileURLToPath(new URL("../examples/quickstart", import.meta.url));
const dockerModule = new URL("../packages/docker/src/index.ts", import.meta.url).href;
const exec = promisify(execFile);

export async function run(): Promise<BenchResult[]> {
  const missing = registryMissing();
  if (missing) throw new Error(`registry bench needs ${missing}`);
  const docker = createDockerClient();
  if (!(await inspectImage(docker, BASE_IMAGE))) throw new Error(`registry bench needs the base image ${BASE_IMAGE} (scripts/ci/setup-docker.sh)`);
  const registry = await startRegistry();
  const imageName = "orch-bench-registry-quickstart";
  try {
    const options = { projectRoot: quickstart, baseImage: BASE_IMAGE, imageName, registry: { uri: registry.host } };
    // Warm-up, not measured: builds, pushes and writes the stat cache.
    const warm = await buildProjectImage({ docker, ...options });
    const files = warm.context.entries.length;

    const script = `import { buildProjectImage, createDockerClient } from ${JSON.stringify(dockerModule)};
const docker = createDockerClient();
const start = performance.now();
const cpuStart = process.cpuUsage();
const result = await buildProjectImage({ docker, ...${JSON.stringify(options)} });
const ms = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
if (result.built || result.uploaded) throw new Error("the build context changed during the bench (another process writing into the quickstart or a package it links?): expected no build and no push");
console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000 }));`;
    const fresh: number[] = [];
    const freshCpu: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const { stdout } = await exec(process.execPath, ["--conditions=@orch/source", "--import", "tsx", "--input-type=module", "-e", script], { cwd: fileURLToPath(new URL("..", import.meta.url)) });
      const measured = JSON.parse(stdout.trim().split("\n").pop()!) as { ms: number; cpuMs: number };
      fresh.push(measured.ms);
      freshCpu.push(measured.cpuMs);
    }
    const sameProcess: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const start = performance.now();
      await buildProjectImage({ docker, ...options });
      sameProcess.push(performance.now() - start);
    }
    return [
      { name: `no-change image check, new process (${files} files: hash + HEAD)`, value: median(fresh), unit: "ms", budget: 300 },
      // CPU time of this process: what the check costs when the machine is not shared (wall time above includes waiting for it).
      { name: "no-change image check, new process, CPU time", value: median(freshCpu), unit: "ms" },
      { name: "no-change image check, same process", value: median(sameProcess), unit: "ms" },
    ];
  } finally {
    for (const image of await docker.listImages({ filters: { reference: [`*${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    await registry.stop();
  }
}
