/**
 * The project image when the config asks to build it (config key build, no image): built and pushed
 * with @orch/docker, an optional peer loaded only then.
 */
import { OrchError, type PluginContext } from "@orch/core/plugin";
import type { KubernetesOrchestratorConfig } from "./config.js";

/** Stands in for the image in compiled manifests when it is built at submit (config key build). */
export const IMAGE_BUILT_AT_SUBMIT = "orch-project-image:built-at-submit";

/** Builds the project image and pushes it to the stack's container registry; returns the pushed reference. */
export async function buildImage(config: KubernetesOrchestratorConfig & { build: NonNullable<KubernetesOrchestratorConfig["build"]> }, context: PluginContext): Promise<string> {
  const registry = context.containerRegistry?.config as { uri?: string } | undefined;
  if (!registry?.uri) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "kubernetes",
      key: "build",
      message: "The kubernetes orchestrator builds the project image (config key build), but the stack has no container registry to push it to; cluster nodes cannot pull an image that only exists on this machine.",
      hint: "Add a container registry to the stack (orch stack update -c NAME), or build and push the image yourself and set image.",
    });
  }
  let docker: typeof import("@orch/docker");
  try {
    const specifier = "@orch/docker";
    docker = (await import(specifier)) as typeof import("@orch/docker");
  } catch (cause) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "kubernetes",
      key: "build",
      message: "Building the image (config key build) needs the @orch/docker package, which is not installed.",
      hint: "Install it next to @orch/plugin-kubernetes (npm install @orch/docker), or set image to an image you built.",
      cause,
    });
  }
  // The registry flavor's runtime (credentials at push time, ECR repositories …), else just the URI.
  const target = context.containerRegistry?.open ? await context.containerRegistry.open() : { uri: registry.uri };
  const built = await docker.buildProjectImage({
    docker: docker.createDockerClient(),
    projectRoot: context.projectRoot,
    baseImage: config.build.baseImage,
    ...(config.build.imageName ? { imageName: config.build.imageName } : {}),
    registry: target,
    // The cluster pulls the image; this engine needs no copy of one the registry already has.
    pullIfMissing: false,
    onProgress: (event) => process.stderr.write(`[orch] kubernetes: image ${event.phase}: ${event.message}\n`),
  });
  // By digest: every pod of the run gets exactly the image that was pushed, whatever the tag does later.
  return built.pushed ?? built.image;
}
