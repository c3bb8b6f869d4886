import { realpath } from "node:fs/promises";
import { posix } from "node:path";
import type Docker from "dockerode";
import { OrchError, isOrchError } from "@orch/core";
import { collectBuildContext, contextHash, type BuildContext, type CollectContextOptions } from "./context.js";
import { generateDockerfile } from "./dockerfile.js";
import { packContext } from "./pack.js";
import { authError, manifestDigest, parseReference, type ParsedReference, type RegistryAuth, type RegistryTarget } from "./registry.js";

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
  /**
   * Push the image there (`registry.example.com/team`; the image name is appended), unless the
   * registry already has the content-hash tag (one manifest HEAD). Credentials are fetched from the
   * target at push time and only handed to the engine, never printed or written anywhere.
   */
  registry?: RegistryTarget;
  /**
   * With a registry: when the registry has the tag but this engine lacks the image, pull it instead
   * of building (the containers run here: local_docker). false: leave the engine alone (the
   * orchestrator pulls it elsewhere: kubernetes). Default true.
   */
  pullIfMissing?: boolean;
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
  /** With a registry: the reference by digest orchestrators pull (`host/name@sha256:…`). */
  pushed?: string;
  /** With a registry: the tag in the registry (`host/name:<hash16>`). */
  pushedTag?: string;
  /** With a registry: the manifest digest (`sha256:…`). */
  digest?: string;
  /** With a registry: whether this call uploaded anything (false when the registry had the tag). */
  uploaded?: boolean;
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
  progress({ phase: "context", message: `build context: ${context.entries.length} files, ${(bytes / 1e6).toFixed(1)} MB, hash ${hash.slice(0, 16)}${context.hashed !== undefined ? `, ${context.hashed} file(s) read, the rest unchanged since the last hash` : ""}`, image });

  const existing = await inspectImage(options.docker, image);
  const present = existing !== undefined && existing.Config?.Labels?.[CONTEXT_HASH_LABEL] === hash;
  const base = { image, hash, dockerfile, context };

  if (options.registry) {
    const target = await openTarget(options.registry, name, hash);
    const digest = await manifestDigest(target.parsed, { auth: target.auth, credentialSource: target.source });
    if (digest) {
      progress({ phase: "reuse", message: `registry already has ${target.tagged} (${digest.slice(0, 19)}…): nothing to push`, image: target.tagged });
      let imageId = existing?.Id ?? "";
      if (!present && options.pullIfMissing !== false) {
        imageId = await pullByDigest(options.docker, `${target.repository}@${digest}`, image, target, progress);
      } else if (present) {
        progress({ phase: "reuse", message: `reusing image ${image} (unchanged project, nothing to build)`, image });
      }
      return { ...base, imageId, built: false, pushed: `${target.repository}@${digest}`, pushedTag: target.tagged, digest, uploaded: false };
    }
    let imageId = existing?.Id ?? "";
    let built = false;
    if (present) progress({ phase: "reuse", message: `reusing image ${image} (unchanged project, nothing to build)`, image });
    else {
      imageId = await buildImage(options, dockerfile, context, image, hash, buildArgs, progress);
      built = true;
    }
    const pushedDigest = await pushToRegistry(options.docker, image, target, progress);
    if (built) await pruneAfterBuild(options.docker, name, options.keepImages, image, progress);
    progress({ phase: "done", message: `pushed ${target.repository}@${pushedDigest}`, image: target.tagged });
    return { ...base, imageId, built, pushed: `${target.repository}@${pushedDigest}`, pushedTag: target.tagged, digest: pushedDigest, uploaded: true };
  }

  if (present) {
    progress({ phase: "reuse", message: `reusing image ${image} (unchanged project, nothing to build)`, image });
    return { ...base, imageId: existing.Id, built: false };
  }
  const imageId = await buildImage(options, dockerfile, context, image, hash, buildArgs, progress);
  await pruneAfterBuild(options.docker, name, options.keepImages, image, progress);
  progress({ phase: "done", message: `built ${image}`, image });
  return { ...base, imageId, built: true };
}

async function buildImage(options: BuildImageOptions, dockerfile: string, context: BuildContext, image: string, hash: string, buildArgs: Record<string, string>, progress: (event: BuildProgress) => void): Promise<string> {
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
  await Promise.race([building, packFailed]).catch((error: unknown) => {
    throw isOrchError(error) ? error : buildError(String((error as Error)?.message ?? error), options.baseImage);
  });
  if (packFailure) throw buildError(`the build context could not be packed: ${packFailure.message}`, options.baseImage);
  const built = await inspectImage(options.docker, image);
  if (!built) throw buildError(`the engine reported no error, but image ${image} does not exist afterwards`, options.baseImage);
  return built.Id;
}

async function pruneAfterBuild(docker: Docker, name: string, keep: number | undefined, image: string, progress: (event: BuildProgress) => void): Promise<void> {
  const removed = await pruneImages(docker, name, keep ?? 5);
  if (removed.length > 0) progress({ phase: "done", message: `removed ${removed.length} older image(s) of ${name}: ${removed.join(", ")}`, image });
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

interface OpenedTarget {
  /** `host[/namespace]/name` */
  repository: string;
  /** `repository:<hash16>` */
  tagged: string;
  tag: string;
  parsed: ParsedReference;
  auth: RegistryAuth | undefined;
  source: string;
  registry: RegistryTarget;
}

/** The registry reference of this build and the credentials of the push, fetched now (push time). */
async function openTarget(registry: RegistryTarget, name: string, hash: string): Promise<OpenedTarget> {
  const uri = registry.uri.replace(/\/+$/, "");
  if (/^[a-z]+:\/\//i.test(uri)) {
    throw new OrchError("E_CONFIG_INVALID", {
      key: "uri",
      message: `Container registry uri "${uri}" has a scheme; a registry URI is host[:port][/namespace].`,
      hint: `Write it without the scheme: ${uri.replace(/^[a-z]+:\/\//i, "")}`,
    });
  }
  const tag = hash.slice(0, 16);
  const repository = `${uri}/${name}`;
  const tagged = `${repository}:${tag}`;
  const auth = registry.credentials
    ? await registry.credentials()
    : registry.auth?.username !== undefined && registry.auth.password !== undefined
      ? { username: registry.auth.username, password: registry.auth.password, source: registry.credentialSource ?? "the auth config given to buildProjectImage" }
      : undefined;
  const source = auth?.source ?? registry.credentialSource ?? "anonymous (no credentials)";
  return { repository, tagged, tag, parsed: parseReference(tagged), auth, source, registry };
}

function authConfig(target: OpenedTarget): Docker.AuthConfig | undefined {
  // serveraddress is what the engine logs in to; the secret goes to the engine only (X-Registry-Auth).
  return target.auth ? { username: target.auth.username, password: target.auth.password, serveraddress: target.parsed.host } : undefined;
}

/** Tags the local image into the registry's repository and pushes it; returns the manifest digest. */
async function pushToRegistry(docker: Docker, image: string, target: OpenedTarget, progress: (event: BuildProgress) => void): Promise<string> {
  await target.registry.ensureRepository?.(target.parsed.repository);
  await docker.getImage(image).tag({ repo: target.repository, tag: target.tag });
  progress({ phase: "push", message: `pushing ${target.tagged} (credentials: ${target.source})`, image: target.tagged });
  let digest: string | undefined;
  const layers = new Map<string, string>();
  try {
    const auth = authConfig(target);
    const stream = await docker.getImage(target.tagged).push({ tag: target.tag, ...(auth ? { authconfig: auth } : {}) });
    await followProgress(docker, stream, (event) => {
      const aux = (event as { aux?: { Digest?: string } }).aux;
      if (aux?.Digest) digest = aux.Digest;
      if (!event.status) return;
      // One line per layer state change (Preparing, Pushing, Pushed, Layer already exists), not per progress tick.
      const id = (event as { id?: string }).id;
      if (id && layers.get(id) === event.status) return;
      if (id) layers.set(id, event.status);
      progress({ phase: "push", message: `${id ? `${id}: ` : ""}${event.status}${event.progress && !id ? ` ${event.progress}` : ""}`, image: target.tagged });
    });
  } catch (error) {
    throw pushError(error, target);
  }
  // The orchestrator pulls by digest: make sure that reference resolves, with the same credentials.
  const check = { auth: target.auth, credentialSource: target.source };
  const seen = await manifestDigest(target.parsed, check);
  digest ??= seen;
  if (!digest || !(await manifestDigest({ ...target.parsed, tag: digest }, check))) {
    throw new OrchError("E_IMAGE_PUSH", {
      message: `Pushed ${target.tagged}, but the registry does not serve ${target.repository}@${digest ?? "(no digest)"} afterwards, so an orchestrator could not pull it.`,
      hint: "Check the registry's storage and any proxy in front of it; the push output above has the engine's view.",
    });
  }
  return digest;
}

/** Pulls `reference` (by digest) and tags it as the local image, so the next run finds it here. */
async function pullByDigest(docker: Docker, reference: string, localImage: string, target: OpenedTarget, progress: (event: BuildProgress) => void): Promise<string> {
  progress({ phase: "pull", message: `pulling ${reference} (not on this engine)`, image: reference });
  try {
    const auth = authConfig(target);
    const stream = await docker.pull(reference, auth ? { authconfig: auth } : {});
    await followProgress(docker, stream, () => {});
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    throw new OrchError("E_IMAGE_PUSH", {
      message: `The registry has ${reference}, but this Docker engine cannot pull it: ${redactReason(message, target)}.`,
      hint: /insecure|https|http: server gave HTTP response/i.test(message)
        ? `The engine needs ${target.parsed.host} as an insecure registry (dockerd --insecure-registry=${target.parsed.host}), or serve the registry over HTTPS.`
        : "Check that the engine can reach the registry and that the credentials allow pulls.",
    });
  }
  const [repo, tag] = splitReference(localImage);
  await docker.getImage(reference).tag({ repo, tag });
  const info = await inspectImage(docker, localImage);
  return info?.Id ?? "";
}

/** The engine's push failure as the registry error it is: auth, unreachable, or other. */
function pushError(error: unknown, target: OpenedTarget): OrchError {
  const message = redactReason(String((error as { message?: string })?.message ?? error), target);
  if (/unauthorized|authentication required|no basic auth credentials|401/i.test(message)) return authError(target.parsed.host, 401, target.source, target.auth !== undefined);
  if (/denied|forbidden|403/i.test(message)) return authError(target.parsed.host, 403, target.source, target.auth !== undefined);
  if (/connection refused|no such host|i\/o timeout|dial tcp|server gave HTTP response|EOF/i.test(message)) {
    return new OrchError("E_REGISTRY_UNREACHABLE", {
      message: `Pushing ${target.tagged} failed: the engine cannot reach registry ${target.parsed.host} (${message}).`,
      hint: /HTTP response to HTTPS/i.test(message)
        ? `The registry speaks plain HTTP: add it to the engine's insecure registries (dockerd --insecure-registry=${target.parsed.host}) or serve it over HTTPS.`
        : "Start the registry or fix the container registry's uri; the Docker engine (not only this machine) must reach it.",
    });
  }
  return new OrchError("E_IMAGE_PUSH", {
    message: `Pushing ${target.tagged} failed: ${message}`,
    hint: "See the engine's message; check the registry's logs and free space.",
  });
}

/** Engine messages never carry our secret, but make sure: the password is cut out if it appears. */
function redactReason(message: string, target: OpenedTarget): string {
  const secret = target.auth?.password;
  return secret ? message.split(secret).join("********") : message;
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
        else if (failure) reject(new Error(failure));
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
