/**
 * @orch/docker — what every container flavor shares: a build context and Dockerfile generated from
 * the project (respecting `.dockerignore`), image builds with dockerode tagged by content hash (an
 * unchanged project is never rebuilt), pushes to a container registry, and build progress events.
 *
 * @example
 * import { createDockerClient, buildProjectImage } from "@orch/docker";
 * const docker = createDockerClient();
 * const { image, built } = await buildProjectImage({ docker, projectRoot: process.cwd(), baseImage: "node:20-bookworm-slim", onProgress: (e) => console.log(e.message) });
 *
 * @module
 */
export { createDockerClient, assertDockerAvailable, describeDockerHost, type DockerConnectionOptions, type Docker } from "./client.js";
export { collectBuildContext, contextHash, sourceMounts, DEFAULT_IGNORES, type BuildContext, type ContextEntry, type CollectContextOptions } from "./context.js";
export { generateDockerfile, type DockerfileOptions } from "./dockerfile.js";
export {
  buildProjectImage,
  ensureImage,
  inspectImage,
  pruneImages,
  defaultImageName,
  CONTEXT_HASH_LABEL,
  type BuildImageOptions,
  type BuiltImage,
  type BuildProgress,
} from "./build.js";
export { manifestDigest, parseReference, registryBaseUrl, type RegistryAuth, type RegistryTarget, type ParsedReference, type ManifestCheckOptions } from "./registry.js";
