/**
 * Building the project image for a container flavor whose backend pulls images (kubernetes, sagemaker,
 * azureml …): built with @orch/docker — an optional peer of those plugins, loaded only when an image
 * is built — and pushed to the stack's container registry, returned by digest. One function, so every
 * flavor refuses the same missing registry or package the same way.
 */
import { OrchError } from "../errors.js";
import type { PluginContext } from "../plugins/plugin.js";

/** Stands in for the image in compiled specs when it is built at submit. */
export const IMAGE_BUILT_AT_SUBMIT = "orch-project-image:built-at-submit";

export interface StackImageRequest {
  /** The flavor building it, for messages and progress lines. */
  flavor: string;
  /** The config key that asked for the build (`build`, or `image` when its absence does). */
  key: string;
  /** What pulls the image, for the refusal without a registry: "cluster nodes", "SageMaker". */
  puller: string;
  baseImage: string;
  imageName?: string | undefined;
  context: PluginContext;
  /**
   * `() => import("@orch/docker")`, written in the plugin: the package is the plugin's optional peer, so
   * only the plugin's location resolves it (a strict node_modules layout hides it from core).
   */
  loadDocker: () => Promise<unknown>;
}

/** The part of @orch/docker used here (typed structurally: core does not depend on it). */
interface DockerModule {
  createDockerClient(): unknown;
  buildProjectImage(options: {
    docker: unknown;
    projectRoot: string;
    baseImage: string;
    imageName?: string;
    registry: unknown;
    pullIfMissing: boolean;
    onProgress: (event: { phase: string; message: string }) => void;
  }): Promise<{ image: string; pushed?: string | undefined }>;
}

/** Builds the project image and pushes it to the stack's container registry; returns the pushed reference. */
export async function buildStackImage(request: StackImageRequest): Promise<string> {
  const { flavor, key, context } = request;
  const registry = context.containerRegistry?.config as { uri?: string } | undefined;
  if (!registry?.uri) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor,
      key,
      message: `The ${flavor} orchestrator builds the project image (config key ${key}), but the stack has no container registry to push it to; ${request.puller} cannot pull an image that only exists on this machine.`,
      hint: "Add a container registry to the stack (orch stack update -c NAME), or build and push the image yourself and set image.",
    });
  }
  let docker: DockerModule;
  try {
    docker = (await request.loadDocker()) as DockerModule;
  } catch (cause) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor,
      key,
      message: `Building the image (config key ${key}) needs the @orch/docker package, which is not installed.`,
      hint: `Install it next to the ${flavor} plugin (npm install @orch/docker), or set image to an image you built.`,
      cause,
    });
  }
  // The registry flavor's runtime (credentials at push time, ECR repositories …), else just the URI.
  const target = context.containerRegistry?.open ? await context.containerRegistry.open() : { uri: registry.uri };
  const built = await docker.buildProjectImage({
    docker: docker.createDockerClient(),
    projectRoot: context.projectRoot,
    baseImage: request.baseImage,
    ...(request.imageName ? { imageName: request.imageName } : {}),
    registry: target,
    // The backend pulls the image; this engine needs no copy of one the registry already has.
    pullIfMissing: false,
    onProgress: (event) => process.stderr.write(`[orch] ${flavor}: image ${event.phase}: ${event.message}\n`),
  });
  // By digest: every step of the run gets exactly the image that was pushed, whatever the tag does later.
  return built.pushed ?? built.image;
}
