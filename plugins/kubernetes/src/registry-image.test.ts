// Issue 19: with a container registry in the stack, the kubernetes quickstart's manifests name the
// image that was pushed to it, by digest — built and pushed by `orch pipeline compile` / submit.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { activateContainerRegistry, compilePipeline, parseComponentConfig } from "@orch/core/host";
import { createDockerClient } from "@orch/docker";
import plugin from "./index.js";
import { createOrchestrator } from "./runtime.js";
import { createHarness, type Harness } from "../test/harness.js";
import { startRegistry, type RegistryServer } from "../../../packages/docker/test/registry-server.js";
import { BASE_IMAGE, dockerMissing } from "../../../packages/docker/test/prerequisites.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";

const quickstartRoot = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url)).replace(/\/$/, "");
const docker = createDockerClient();

const missing = await dockerMissing(docker, { registry: true });
if (missing && process.env.ORCH_REQUIRE_DOCKER === "1") {
  describe("the kubernetes quickstart with a container registry", () => {
    it("has a Docker engine, the base image and docker-registry (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`Registry tests cannot run: ${missing}`);
    });
  });
} else if (missing) {
  console.warn(`[orch] SKIPPING kubernetes registry tests: ${missing}. Set ORCH_REQUIRE_DOCKER=1 to make this a failure.`);
}

describe.skipIf(missing !== undefined)("the kubernetes quickstart with a container registry", () => {
  let registry: RegistryServer;
  let h: Harness;
  const imageName = `orch-k8s-registry-test-${process.pid}`;
  beforeAll(async () => {
    registry = await startRegistry();
    h = await createHarness({ config: { projectRoot: quickstartRoot } });
  });
  afterAll(async () => {
    for (const image of await docker.listImages({ filters: { reference: [`*${imageName}*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    for (const image of await docker.listImages({ filters: { reference: [`${registry?.host}/*`] } })) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
    await h?.close();
    await registry?.stop();
  });

  it("compiles manifests that reference the pushed image by digest", async () => {
    const containerRegistry = await activateContainerRegistry({ flavor: "default", config: { uri: registry.host } }, quickstartRoot);
    const { image: _prebuilt, ...withoutImage } = h.config;
    const config = parseComponentConfig(plugin, { ...withoutImage, build: { baseImage: BASE_IMAGE, imageName } });
    const runtime = createOrchestrator(config, { projectRoot: quickstartRoot, stackName: "k8s", artifactStore: h.store, containerRegistry });
    try {
      const { snapshot } = compilePipeline(irisTraining, {}, { projectRoot: quickstartRoot });
      const files = await runtime.compile!(snapshot);
      const orchestrator = parse(files["orchestrator-job.yaml"]!);
      const steps = parseAllDocuments(files["step-jobs.yaml"]!).map((d) => d.toJSON());
      const images = [orchestrator, ...steps].map((o) => o.spec.template.spec.containers[0].image as string);
      const [tag] = await registry.tags(imageName);
      expect(tag).toMatch(/^[0-9a-f]{16}$/);
      expect(await registry.catalog()).toContain(imageName);
      expect(new Set(images).size).toBe(1);
      expect(images[0]).toMatch(new RegExp(`^${registry.host.replace(/\./g, "\\.")}/${imageName}@sha256:[0-9a-f]{64}$`));
      // That digest is what the registry serves for the tag.
      const head = await fetch(`http://${registry.host}/v2/${imageName}/manifests/${tag}`, { method: "HEAD", headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" } });
      expect(images[0]!.endsWith(`@${head.headers.get("docker-content-digest")}`)).toBe(true);
    } finally {
      await runtime.dispose?.();
    }
  });
});
