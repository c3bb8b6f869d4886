// What the Docker tests need on this machine, as one reason to skip (or, with ORCH_REQUIRE_DOCKER=1, to
// fail): an engine that answers, the locally built base image, and for push tests Debian's docker-registry.
import type Docker from "dockerode";
import { inspectImage } from "../src/index.js";
import { registryMissing } from "./registry-server.js";

export const BASE_IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";

/** Why the Docker tests cannot run here, or undefined when they can. */
export async function dockerMissing(docker: Docker, options: { registry?: boolean } = {}): Promise<string | undefined> {
  if (options.registry) {
    const registry = registryMissing();
    if (registry) return registry;
  }
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 5s")), 5000))]);
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message}); run scripts/ci/setup-docker.sh`;
  }
  return (await inspectImage(docker, BASE_IMAGE)) ? undefined : `base image ${BASE_IMAGE} is missing; run scripts/ci/setup-docker.sh`;
}
