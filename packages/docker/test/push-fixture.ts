/**
 * For registry flavor tests: whether Docker, the base image and docker-registry are here (failing
 * under ORCH_REQUIRE_DOCKER=1, else skipping loudly), and a tiny project to build and push.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDockerClient, inspectImage } from "../src/index.js";
import { registryMissing } from "./registry-server.js";

export const BASE_IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";

/** Why pushes cannot be tested here, or undefined. */
export async function pushTestsMissing(): Promise<string | undefined> {
  const registry = registryMissing();
  if (registry) return registry;
  const docker = createDockerClient();
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 5s")), 5000))]);
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message}); run scripts/ci/setup-docker.sh`;
  }
  return (await inspectImage(docker, BASE_IMAGE)) ? undefined : `base image ${BASE_IMAGE} is missing; run scripts/ci/setup-docker.sh`;
}

/** A project with one file, and a cleanup that removes it and every image named after it. */
export function tinyProject(prefix: string): { dir: string; imageName: string; cleanup(): Promise<void> } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `${prefix}-`)));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "tiny", type: "module" }));
  writeFileSync(join(dir, "main.js"), `console.log(${JSON.stringify(dir)})`);
  const imageName = `${prefix}-${dir.split("-").pop()!.toLowerCase()}`;
  return {
    dir,
    imageName,
    async cleanup() {
      const docker = createDockerClient();
      for (const image of await docker.listImages({ filters: { reference: [`*${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
      for (const image of await docker.listImages({ filters: { reference: [`*/*${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
