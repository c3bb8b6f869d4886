/**
 * The project image when the config asks to build it (config key build, no image): built and pushed
 * with @orch/docker, an optional peer loaded only then.
 */
import { OrchError, type PluginContext } from "@orch/core/plugin";
import { FLAVOR, type AzureMLOrchestratorConfig } from "./config.js";

/** Stands in for the image in compiled manifests when it is built at submit (config key build). */
export const IMAGE_BUILT_AT_SUBMIT = "orch-project-image:built-at-submit";

/** Builds the project image and pushes it to the stack's container registry; returns the pushed reference. */
export async function buildImage(build: NonNullable<AzureMLOrchestratorConfig["build"]>, context: PluginContext): Promise<string> {
  const registry = context.containerRegistry?.config as { uri?: string } | undefined;
  if (!registry?.uri) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "build",
      message: "The azureml orchestrator builds the project image (config key build), but the stack has no container registry to push it to; Azure ML compute cannot pull an image that only exists on this machine.",
      hint: "Add a container registry to the stack (orch stack update -c NAME), or build and push the image yourself and set image.",
    });
  }
  let docker: typeof import("@orch/docker");
  try {
    const specifier = "@orch/docker";
    docker = (await import(specifier)) as typeof import("@orch/docker");
  } catch (cause) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "build",
      message: "Building the image (config key build) needs the @orch/docker package, which is not installed.",
      hint: "Install it next to @orch/plugin-azureml (npm install @orch/docker), or set image to an image you built.",
      cause,
    });
  }
  const built = await docker.buildProjectImage({
    docker: docker.createDockerClient(),
    projectRoot: context.projectRoot,
    baseImage: build.baseImage,
    ...(build.imageName ? { imageName: build.imageName } : {}),
    registry: { uri: registry.uri },
    onProgress: (event) => process.stderr.write(`[orch] azureml: image ${event.phase}: ${event.message}\n`),
  });
  return built.pushed ?? built.image;
}
