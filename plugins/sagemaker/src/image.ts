/**
 * The image of the processing jobs: the configured one, or the project built with @orch/docker (an
 * optional peer, loaded only then) and pushed to the stack's container registry (ECR).
 */
import { OrchError, type PluginContext } from "@orch/core/plugin";
import { FLAVOR, type SageMakerOrchestratorConfig } from "./config.js";

/** Stands in for the image in compiled definitions when it is built at submit. */
export const IMAGE_BUILT_AT_SUBMIT = "orch-project-image:built-at-submit";

export async function buildImage(config: SageMakerOrchestratorConfig, context: PluginContext): Promise<string> {
  const registry = context.containerRegistry?.config as { uri?: string } | undefined;
  if (!registry?.uri) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "image",
      message: "The sagemaker orchestrator has no image, and the stack has no container registry to push a built one to; SageMaker pulls step images from ECR.",
      hint: "Set image to an ECR image with the project and orch-entrypoint (orch orchestrator update NAME --image=…), or add an ECR container registry to the stack.",
    });
  }
  let docker: typeof import("@orch/docker");
  try {
    const specifier = "@orch/docker";
    docker = (await import(specifier)) as typeof import("@orch/docker");
  } catch (cause) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "image",
      message: "Building the image (no image configured) needs the @orch/docker package, which is not installed.",
      hint: "Install it next to @orch/plugin-sagemaker (npm install @orch/docker), or set image to an image you built.",
      cause,
    });
  }
  const built = await docker.buildProjectImage({
    docker: docker.createDockerClient(),
    projectRoot: context.projectRoot,
    baseImage: config.build?.baseImage ?? "node:20-bookworm-slim",
    ...(config.build?.imageName ? { imageName: config.build.imageName } : {}),
    registry: { uri: registry.uri },
    onProgress: (event) => process.stderr.write(`[orch] sagemaker: image ${event.phase}: ${event.message}\n`),
  });
  return built.pushed ?? built.image;
}
