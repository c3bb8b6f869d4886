import { realpath } from "node:fs/promises";
import { posix } from "node:path";
import type Docker from "dockerode";
import { OrchError } from "@orch/core";
import { collectBuildContext, contextHash, type BuildContext, type CollectContextOptions } from "./context.js";
import { generateDockerfile } from "./dockerfile.js";
import { packContext } from "./pack.js";

/** What a build reports while it works; `reuse` means the tag already existed and nothing was built. */
export interface BuildProgress {
  phase: "context" | "reuse" | "pull" | "build" | "push" | "done";
  message: string;
  image?: string;
}

export interface BuildImageOptions extends CollectContextOptions {
  docker: Docker;
  baseImage: string;
  /** Repository name of the built image (tag = content hash). Default: `orch-<project folder name>`. */
  imageName?: string;
  extraLines?: string[];
  installCommand?: string;
  buildArgs?: Record<string, string>;
  env?: Record<string, string>;
  /** Push the image there after building (`registry.example.com/team`); the image name is appended. */
  registry?: { uri: string; auth?: Docker.AuthConfig };
  onProgress?: (event: BuildProgress) => void;
  /**
   * After a build, keep only this many images of `imageName` built by orch (newest first); older
   * ones are removed unless a container still uses them. Default 5; 0 keeps everything.
   */
  keepImages?: number;
  /** Build only FROM + extra lines + env, without the project's files (for bind-mounted sources). */
  withoutProjectFiles?: boolean;
  /** Labels added to the image. */
  labels?: Record<string, string>;
}

export interface BuiltImage {
  /** Local reference to run containers from: `<imageName>:<hash16>`. */
  image: string;
  /** Full content hash (sha256 hex) of Dockerfile, build args and context. */
  hash: string;
  imageId: string;
  /** false when the tag already existed and the build was skipped. */
  built: boolean;
  /** The pushed reference, when a registry was given. */
  pushed?: string;
  dockerfile: string;
  context: BuildContext;
}

export const CONTEXT_HASH_LABEL = "orch.context-hash";

/**
 * Builds the project's step image, or reuses it: the tag is the content hash of the Dockerfile,
 * build args and every context file, so an unchanged project finds its tag and is never rebuilt.
 * Pushes to `registry` after a build when given.
 */
export async function buildProjectImage(options: BuildImageOptions): Promise<BuiltImage> {
  const progress = options.onProgress ?? (() => {});
  const context: BuildContext = options.withoutProjectFiles
    ? { projectRoot: await realpath(options.projectRoot), entries: [], roots: [] }
    : await collectBuildContext(options);
  const deps = context.entries.filter((e) => e.dependency);
  const app = context.entries.filter((e) => !e.dependency);
  const dockerfile = generateDockerfile({
    baseImage: options.baseImage,
    projectRoot: context.projectRoot,
    ...(options.extraLines ? { extraLines: options.extraLines } : {}),
    ...(options.installCommand ? { installCommand: options.installCommand } : {}),
    ...(options.buildArgs ? { buildArgs: options.buildArgs } : {}),
    ...(options.env ? { env: options.env } : {}),
    hasDependencies: deps.length > 0,
    hasApplication: app.length > 0,
  });
  const buildArgs = options.buildArgs ?? {};
  const hash = contextHash(dockerfile, buildArgs, context.entries);
  const name = options.imageName ?? defaultImageName(context.projectRoot);
  const image = `${name}:${hash.slice(0, 16)}`;
  const bytes = context.entries.reduce((sum, e) => sum + e.size, 0);
  progress({ phase: "context", message: `build context: ${context.entries.length} files, ${(bytes / 1e6).toFixed(1)} MB, hash ${hash.slice(0, 16)}`, image });

  const existing = await inspectImage(options.docker, image);
  if (existing && existing.Config?.Labels?.[CONTEXT_HASH_LABEL] === hash) {
    progress({ phase: "reuse", message: `reusing image ${image} (unchanged project, nothing to build)`, image });
    return { image, hash, imageId: existing.Id, built: false, dockerfile, context };
  }

  progress({ phase: "build", message: `building ${image} from ${options.baseImage}`, image });
  const tar = packContext(dockerfile, context, (message) => progress({ phase: "context", message: `warning: ${message}`, image }));
  // A packing failure must fail this build, not crash the process as an unhandled stream error.
  let packFailure: Error | undefined;
  const packFailed = new Promise<never>((_, reject) =>
    tar.once("error", (error: Error) => {
      packFailure = error;
      reject(buildError(`the build context could not be packed: ${error.message}`, options.baseImage));
    }),
  );
  packFailed.catch(() => {});
  const building = (async () => {
    const stream = await options.docker.buildImage(tar as unknown as NodeJS.ReadableStream, {
      t: image,
      rm: true,
      forcerm: true,
      buildargs: buildArgs,
      labels: { ...(options.labels ?? {}), [CONTEXT_HASH_LABEL]: hash, "orch.project-root": context.projectRoot },
    });
    await followProgress(options.docker, stream, (event) => {
      const text = (event.stream ?? event.status ?? "").trim();
      if (text) progress({ phase: "build", message: text, image });
    });
  })();
  await Promise.race([building, packFailed]);
  if (packFailure) throw buildError(`the build context could not be packed: ${packFailure.message}`, options.baseImage);
  const built = await inspectImage(options.docker, image);
  if (!built) throw buildError(`the engine reported no error, but image ${image} does not exist afterwards`, options.baseImage);
  let pushed: string | undefined;
  if (options.registry) pushed = await pushImage(options.docker, image, options.registry, progress);
  const removed = await pruneImages(options.docker, name, options.keepImages ?? 5);
  if (removed.length > 0) progress({ phase: "done", message: `removed ${removed.length} older image(s) of ${name}: ${removed.join(", ")}`, image });
  progress({ phase: "done", message: `built ${image}`, image });
  return { image, hash, imageId: built.Id, built: true, ...(pushed ? { pushed } : {}), dockerfile, context };
}

/**
 * Removes all but the newest `keep` images of repository `name` that orch built (they carry the
 * content-hash label). Images a container still uses are left alone. Returns the removed references.
 */
export async function pruneImages(docker: Docker, name: string, keep: number): Promise<string[]> {
  if (keep <= 0) return [];
  const images = await docker.listImages({ filters: { reference: [name], label: [CONTEXT_HASH_LABEL] } });
  const removed: string[] = [];
  for (const image of images.sort((a, b) => b.Created - a.Created).slice(keep)) {
    for (const tag of image.RepoTags ?? []) {
      if (!tag.startsWith(`${name}:`)) continue;
      try {
        await docker.getImage(tag).remove(); // not forced: an image in use by a container stays
        removed.push(tag);
      } catch {
        // in use, or already gone
      }
    }
  }
  return removed;
}

/** `orch-<folder name>` (no double prefix), lower-cased to a valid repository name. */
export function defaultImageName(projectRoot: string): string {
  const base = posix.basename(projectRoot.split("\\").join("/")).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "");
  if (!base) return "orch-project";
  return base.startsWith("orch-") ? base : `orch-${base}`;
}

export async function inspectImage(docker: Docker, image: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(image).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Makes sure `image` exists locally, pulling it when missing. */
export async function ensureImage(docker: Docker, image: string, onProgress?: (event: BuildProgress) => void): Promise<void> {
  if (await inspectImage(docker, image)) return;
  onProgress?.({ phase: "pull", message: `pulling ${image}`, image });
  try {
    const stream = await docker.pull(image);
    await followProgress(docker, stream, (event) => {
      if (event.status) onProgress?.({ phase: "pull", message: `${event.status}${event.progress ? ` ${event.progress}` : ""}`, image });
    });
  } catch (cause) {
    throw new OrchError("E_IMAGE_BUILD", {
      message: `Image ${image} is not on this Docker engine and could not be pulled: ${(cause as Error)?.message ?? cause}.`,
      hint: "Pull or build the image first (docker pull / docker build), or fix the image name in the orchestrator config.",
      cause,
    });
  }
}

async function pushImage(docker: Docker, image: string, registry: { uri: string; auth?: Docker.AuthConfig }, progress: (event: BuildProgress) => void): Promise<string> {
  const [repository, tag] = splitReference(image);
  const target = `${registry.uri.replace(/\/+$/, "")}/${repository}`;
  await docker.getImage(image).tag({ repo: target, tag });
  const remote = `${target}:${tag}`;
  progress({ phase: "push", message: `pushing ${remote}`, image: remote });
  const stream = await docker.getImage(remote).push({ tag, ...(registry.auth ? { authconfig: registry.auth } : {}) });
  await followProgress(docker, stream, (event) => {
    if (event.status) progress({ phase: "push", message: `${event.status}${event.progress ? ` ${event.progress}` : ""}`, image: remote });
  });
  return remote;
}

function splitReference(image: string): [string, string] {
  const index = image.lastIndexOf(":");
  return index > image.lastIndexOf("/") ? [image.slice(0, index), image.slice(index + 1)] : [image, "latest"];
}

interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Follows a build/pull/push JSON stream; an `error` event rejects with the engine's message. */
function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (event: ProgressEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (error: Error | null) => {
        if (error) reject(error);
        else if (failure) reject(buildError(failure));
        else resolve();
      },
      (event: ProgressEvent) => {
        if (event.error) failure = event.errorDetail?.message ?? event.error;
        else onEvent(event);
      },
    );
  });
}

function buildError(message: string, baseImage?: string): OrchError {
  return new OrchError("E_IMAGE_BUILD", {
    message: `Docker image build failed: ${message.trim()}`,
    hint: baseImage
      ? `Check the build settings (baseImage "${baseImage}", extra Dockerfile lines, installCommand) and that the base image exists or can be pulled.`
      : "Check the Docker engine's message above.",
  });
}
