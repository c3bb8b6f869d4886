// The image every step container of a run uses: built (content-hashed), prebuilt, or the base image with
// the project bind-mounted (mountSource); optionally with the pipeline precompiled (precompile.ts).
import { realpath } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { ORCH_ENV, ORCH_LABELS, ORCH_MANAGED_BY, entrypointCommand, findCoreDirectory, type ArtifactStore, type ContainerRegistryComponent, type PluginContext, type Snapshot } from "@orch/core/plugin";
import { buildProjectImage, defaultImageName, ensureImage, sourceMounts, type Docker, type RegistryTarget } from "@orch/docker";
import { DISPLAY, FLAVOR, type LocalDockerOrchestratorConfig } from "./config.js";
import { emitImageEvent, type ImageEvent } from "./events.js";
import { precompileProject } from "./precompile.js";

/** The image and mounts every step container of one run uses. */
export interface PreparedImage {
  image: string;
  /** Project folder inside the container (the working directory and --project-root). */
  projectRoot: string;
  /** The command before `step --run-id …`: node with the entrypoint of @orch/core. */
  command: string[];
  /** Read-only mounts at the same path (mountSource mode, the precompiled bundle). */
  mounts: string[];
  built: boolean;
  /** Environment every step container gets (ORCH_COMPILED_ROOT for a precompiled bundle). */
  env?: Record<string, string>;
  /** The artifact-store plugin bundled with the precompiled project: the containers load it by path. */
  storePackage?: string;
}

/** Builds (or reuses) the project image, or prepares the bind mounts of mountSource mode. */
export async function prepareImage(docker: Docker, config: LocalDockerOrchestratorConfig, context: PluginContext): Promise<PreparedImage> {
  const report = (event: ImageEvent) => {
    emitImageEvent(event);
    if (event.phase !== "build" || event.message.startsWith("building")) process.stderr.write(`[orch] ${DISPLAY}: ${event.message}\n`);
  };
  const hostRoot = await realpath(context.projectRoot);
  if (config.image) {
    await ensureImage(docker, config.image, report);
    const projectRoot = config.projectRootInImage ?? hostRoot;
    const command = config.projectRootInImage ? entrypointCommand(join(projectRoot, "node_modules", "@orch", "core"), { source: false }) : entrypointCommand(findCoreDirectory(hostRoot, FLAVOR));
    report({ phase: "reuse", message: `using prebuilt image ${config.image}`, image: config.image });
    return { image: config.image, projectRoot, command, mounts: [], built: false };
  }
  const coreDir = findCoreDirectory(hostRoot, FLAVOR);
  // The stack's registry, opened now: its credentials are fetched only when a push or pull needs them.
  const registry = context.containerRegistry ? await openRegistry(context.containerRegistry) : undefined;
  // What every image built for this project starts from: the base image and the Dockerfile lines.
  const base = { docker, projectRoot: hostRoot, baseImage: config.baseImage, extraLines: config.dockerfileLines, buildArgs: config.buildArgs, onProgress: report };
  if (config.mountSource) {
    const mounts = await sourceMounts(hostRoot);
    let image = config.baseImage;
    let built = false;
    if (config.dockerfileLines.length > 0) {
      const result = await buildProjectImage({ ...base, imageName: `${config.imageName ?? defaultImageName(hostRoot)}-base`, withoutProjectFiles: true });
      image = result.image;
      built = result.built;
    } else {
      await ensureImage(docker, image, report);
    }
    report({ phase: "mount", message: `mounting the project read-only (${mounts.join(", ")}) into ${image}`, image });
    return { image, projectRoot: hostRoot, command: entrypointCommand(coreDir), mounts, built };
  }
  const result = await buildProjectImage({
    ...base,
    includeDevDependencies: config.includeDevDependencies,
    keepImages: config.keepImages,
    // A local artifact store inside the project changes with every run: never part of the image.
    ...(storeInside(context.artifactStore, hostRoot) ? { ignore: [storeInside(context.artifactStore, hostRoot)!] } : {}),
    ...(config.installCommand ? { installCommand: config.installCommand } : {}),
    ...(config.imageName ? { imageName: config.imageName } : {}),
    ...(registry ? { registry } : {}),
    labels: { [ORCH_LABELS.managedBy]: ORCH_MANAGED_BY, [ORCH_LABELS.flavor]: FLAVOR, [ORCH_LABELS.component]: "image" },
  });
  // With a registry, steps run from the pushed reference (by digest): what any other engine would pull.
  return { image: result.pushed ?? result.image, projectRoot: hostRoot, command: entrypointCommand(coreDir), mounts: [], built: result.built };
}

/**
 * Runs steps from a bundle compiled at submit (see precompile.ts) instead of through tsx: the
 * bundle is mounted read-only at its own path inside the project. A bundle that cannot be built
 * (syntax esbuild does not take, say) leaves the tsx command in place, and says so.
 */
export async function withPrecompiledBundle(prepared: PreparedImage, config: LocalDockerOrchestratorConfig, context: PluginContext, snapshot: Snapshot): Promise<PreparedImage> {
  if (!config.precompile || config.image) return prepared;
  const projectRoot = await realpath(context.projectRoot);
  try {
    const store = context.artifactStore;
    const compiled = await precompileProject({ projectRoot, coreDir: findCoreDirectory(projectRoot, FLAVOR), snapshot, ...(store.flavor !== "local" ? { storeFlavor: store.flavor } : {}) });
    return {
      ...prepared,
      command: ["node", compiled.entrypoint],
      mounts: [...prepared.mounts, compiled.dir],
      env: { ...prepared.env, [ORCH_ENV.compiledRoot]: compiled.dir },
      ...(compiled.storePlugin ? { storePackage: compiled.storePlugin } : {}),
    };
  } catch (error) {
    process.stderr.write(`[orch] ${DISPLAY}: could not precompile the pipeline (${(error as Error)?.message ?? error}); steps run through tsx instead.\n`);
    return prepared;
  }
}

function storeInside(store: ArtifactStore, projectRoot: string): string | undefined {
  if (store.flavor !== "local") return undefined;
  const rel = relative(projectRoot, store.uri);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : undefined;
}

/** The stack's registry as @orch/docker's push target (built-in flavors, or a registry plugin's runtime). */
async function openRegistry(component: ContainerRegistryComponent): Promise<RegistryTarget | undefined> {
  if (component.open) return component.open();
  const uri = component.config.uri;
  return typeof uri === "string" && uri ? { uri } : undefined;
}
