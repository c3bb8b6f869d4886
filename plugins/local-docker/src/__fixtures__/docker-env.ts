// Test helpers: is a Docker engine here (and the base image), and a throwaway project whose
// node_modules link this workspace's @orch/core and tsx, as `npm install` / pnpm would.
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDockerClient, inspectImage } from "@orch/docker";

const here = dirname(fileURLToPath(import.meta.url));
const pluginRoot = join(here, "..", "..");

/** The image the tests build from and mount into (built by scripts/ci/setup-docker.sh). */
export const BASE_IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";

export interface DockerProbe {
  available: boolean;
  reason?: string;
}

/**
 * Checks for a Docker engine and the base image. With ORCH_REQUIRE_DOCKER=1 (CI) the caller must
 * fail, never skip, when they are missing.
 */
export async function probeDocker(): Promise<DockerProbe> {
  const docker = createDockerClient();
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 5s")), 5000))]);
  } catch (error) {
    return { available: false, reason: `no Docker engine answers (${(error as Error).message}); run scripts/ci/setup-docker.sh` };
  }
  if (!(await inspectImage(docker, BASE_IMAGE))) {
    return { available: false, reason: `the base image ${BASE_IMAGE} is missing; run scripts/ci/setup-docker.sh` };
  }
  return { available: true };
}

export const dockerRequired = process.env.ORCH_REQUIRE_DOCKER === "1";

/** A project folder in the temp dir: package.json, src/pipelines.ts, node_modules → @orch/core and tsx. */
export function createFixtureProject(prefix = "orch-local-docker-"): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "node_modules", "@orch"), { recursive: true });
  writeFileSync(
    join(root, "package.json"),
    JSON.stringify({ name: "docker-fixture", private: true, type: "module", dependencies: { "@orch/core": "*" }, devDependencies: { tsx: "*" } }, null, 2),
  );
  copyFileSync(join(here, "pipelines.ts"), join(root, "src", "pipelines.ts"));
  writeFileSync(join(root, ".dockerignore"), "*.log\nscratch/\n");
  symlinkSync(realpathSync(join(pluginRoot, "node_modules", "@orch", "core")), join(root, "node_modules", "@orch", "core"));
  symlinkSync(realpathSync(join(pluginRoot, "node_modules", "tsx")), join(root, "node_modules", "tsx"));
  return root;
}

/** Imports the fixture project's pipelines (the same module the containers import). */
export async function loadFixturePipelines(projectRoot: string): Promise<typeof import("./pipelines.js")> {
  return import(join(projectRoot, "src", "pipelines.ts"));
}
