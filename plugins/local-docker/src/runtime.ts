import { mkdir, realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, sep } from "node:path";
import { PassThrough } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import {
  ORCH_ENV,
  ORCH_LABELS,
  ORCH_MANAGED_BY,
  entrypointCommand,
  findCoreDirectory,
  journalKeys,
  normalizeResources,
  readRunRecord,
  readStepLog,
  requestRunStop,
  runLabels,
  runOnCoreScheduler,
  runOwnerGone,
  settleRun,
  stepCommand,
  stepTimeBudget,
  toDockerBytes,
  type ArtifactStore,
  type CoreSchedulerRun,
  type LaunchRequest,
  type LaunchResult,
  type Orchestrator,
  type PluginContext,
  type Snapshot,
  type SnapshotStep,
} from "@orch/core/plugin";
import { assertDockerAvailable, buildProjectImage, createDockerClient, defaultImageName, ensureImage, sourceMounts, type Docker } from "@orch/docker";
import { DISPLAY, FLAVOR, settingsSchema, type LocalDockerOrchestratorConfig, type LocalDockerStepSettings } from "./config.js";
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

/** Runs driven by this process, so stop() can end them from the inside (no new steps start). */
const activeRuns = new Map<string, CoreSchedulerRun>();

/** The local_docker runtime: core's scheduler in this process, one container per step (the translation is `containerSpec`). */
export function createOrchestrator(config: LocalDockerOrchestratorConfig, context: PluginContext): Orchestrator {
  const docker = createDockerClient(config.host ? { host: config.host } : {});
  const store = context.artifactStore;
  const connection = { ...(config.host ? { host: config.host } : {}), flavor: DISPLAY };

  return {
    flavor: FLAVOR,
    async preflight() {
      await assertDockerAvailable(docker, connection);
    },
    async submit(snapshot, submit) {
      await assertDockerAvailable(docker, connection);
      // Containers left by a run whose process was killed (kill -9) are never removed by it: sweep them now.
      await removeLeftoverContainers(docker, store, submit.resume ? submit.runId : undefined);
      const prepared = await withPrecompiledBundle(await prepareImage(docker, config, context), config, context, snapshot);
      // Containers are removed off the critical path; the run ends once they are all gone.
      const removals = new Set<Promise<unknown>>();
      const launch = (request: LaunchRequest) => runStepContainer(docker, config, store, prepared, request, { removals, abortRun: () => run.abort() });
      const run = runOnCoreScheduler(
        snapshot,
        {
          plugin: context,
          submit,
          flavor: FLAVOR,
          maxParallelism: config.maxParallelism,
          ...(config.executionMode ? { executionMode: config.executionMode } : {}),
          cleanup: async () => {
            await Promise.all(removals);
            await clearStopRequest(docker, submit.runId);
            activeRuns.delete(submit.runId);
          },
        },
        launch,
      );
      activeRuns.set(submit.runId, run);
      return run;
    },
    /**
     * Stops a run: the process driving it launches no more steps — told directly when that is this
     * process, otherwise through a stop request kept on the engine (a labelled volume the launcher
     * checks) — and every container labelled with the run is stopped (SIGTERM, then SIGKILL after
     * `stopGraceSeconds`) and removed. The run ends `stopped`.
     */
    async stop(runId) {
      const active = activeRuns.get(runId);
      if (active) {
        // Recorded first: a step container that gets SIGTERM stops its step only when the user asked for it.
        await requestRunStop(store, runId).catch(() => {});
        active.abort();
        await removeRunContainers(docker, runId, config.stopGraceSeconds);
        await active.done.catch(() => {});
      } else {
        const run = await readRunRecord(store, runId);
        if (run?.status !== "running" && (await docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.runId}=${runId}`] } })).length === 0) return;
        // The driving process sees the request when its containers end and finishes the run as stopped.
        await settleRun(store, runId, {
          stop: async () => {
            await requestStop(docker, runId);
            await removeRunContainers(docker, runId, config.stopGraceSeconds);
          },
          waitSeconds: config.stopGraceSeconds + 30,
        });
        await clearStopRequest(docker, runId);
      }
      // A launch that was between create and start when we listed is gone by now; sweep once more.
      await removeRunContainers(docker, runId, 0);
    },
    async *logs(runId, stepId, options) {
      if (options?.follow) {
        const running = await docker.listContainers({ filters: { label: [`${ORCH_LABELS.runId}=${runId}`, `${ORCH_LABELS.stepId}=${stepId}`], status: ["running"] } });
        if (running[0]) {
          yield* followContainerLogs(docker, running[0].Id);
          return;
        }
      }
      yield* readStepLog(store, runId, stepId, { follow: options?.follow ?? false });
    },
  };
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
  const registry = context.containerRegistry ? registryOf(context.containerRegistry) : undefined;
  if (config.mountSource) {
    const mounts = await sourceMounts(hostRoot);
    let image = config.baseImage;
    let built = false;
    if (config.dockerfileLines.length > 0) {
      const result = await buildProjectImage({
        docker,
        projectRoot: hostRoot,
        baseImage: config.baseImage,
        extraLines: config.dockerfileLines,
        buildArgs: config.buildArgs,
        imageName: `${config.imageName ?? defaultImageName(hostRoot)}-base`,
        withoutProjectFiles: true,
        onProgress: report,
      });
      image = result.image;
      built = result.built;
    } else {
      await ensureImage(docker, image, report);
    }
    report({ phase: "mount", message: `mounting the project read-only (${mounts.join(", ")}) into ${image}`, image });
    return { image, projectRoot: hostRoot, command: entrypointCommand(coreDir), mounts, built };
  }
  const result = await buildProjectImage({
    docker,
    projectRoot: hostRoot,
    baseImage: config.baseImage,
    extraLines: config.dockerfileLines,
    buildArgs: config.buildArgs,
    includeDevDependencies: config.includeDevDependencies,
    keepImages: config.keepImages,
    // A local artifact store inside the project changes with every run: never part of the image.
    ...(storeInside(context.artifactStore, hostRoot) ? { ignore: [storeInside(context.artifactStore, hostRoot)!] } : {}),
    ...(config.installCommand ? { installCommand: config.installCommand } : {}),
    ...(config.imageName ? { imageName: config.imageName } : {}),
    ...(registry ? { registry } : {}),
    labels: { [ORCH_LABELS.managedBy]: ORCH_MANAGED_BY, [ORCH_LABELS.flavor]: FLAVOR, [ORCH_LABELS.component]: "image" },
    onProgress: report,
  });
  return { image: result.image, projectRoot: hostRoot, command: entrypointCommand(coreDir), mounts: [], built: result.built };
}

/**
 * Runs steps from a bundle compiled at submit (see precompile.ts) instead of through tsx: the
 * bundle is mounted read-only at its own path inside the project. A bundle that cannot be built
 * (syntax esbuild does not take, say) leaves the tsx command in place, and says so.
 */
async function withPrecompiledBundle(prepared: PreparedImage, config: LocalDockerOrchestratorConfig, context: PluginContext, snapshot: Snapshot): Promise<PreparedImage> {
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

function registryOf(component: { flavor: string; config: Record<string, unknown> }): { uri: string } | undefined {
  const uri = component.config.uri;
  return typeof uri === "string" && uri ? { uri } : undefined;
}

export interface ContainerSpecInput {
  config: LocalDockerOrchestratorConfig;
  prepared: PreparedImage;
  runId: string;
  step: SnapshotStep;
  pipeline: string;
  store: ArtifactStore;
  /** uid:gid the container runs as. */
  user: string;
  /** Host folder kept as tsx's transform cache across containers. */
  tsxCache?: string;
}

/** The container of one step: command, labels, mounts and resource limits (memory, CPUs, GPUs). */
export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { config, prepared, runId, step, store } = input;
  const stepSettings: LocalDockerStepSettings = settingsSchema.parse(step.settings.flavors[FLAVOR] ?? {});
  // With a precompiled bundle, the store plugin bundled with it (by path).
  const storeSpec = prepared.storePackage ? { ...store.describe(), package: prepared.storePackage } : store.describe();
  const binds = prepared.mounts.map((path) => `${path}:${path}:ro`);
  if (store.flavor === "local") binds.push(`${store.uri}:${store.uri}:rw`);
  const uid = /^\d+/.exec(input.user)?.[0];
  if (input.tsxCache && uid !== undefined) binds.push(`${input.tsxCache}:/tmp/tsx-${uid}:rw`);
  binds.push(...config.volumes);

  const resources = normalizeResources(step.settings.resources ?? {});
  const gpus = stepSettings.gpus ?? (resources.gpuCount ? resources.gpuCount : config.gpus);
  const shmSize = stepSettings.shmSize ?? config.shmSize;
  const command = stepCommand({ runId, stepId: step.id, projectRoot: prepared.projectRoot, store, entrypoint: prepared.command, ...(prepared.storePackage ? { storePackage: prepared.storePackage } : {}) });
  // The step's own env, then the store's credentials and orch's variables (never on the command line).
  const env = { ...config.env, ...(stepSettings.env ?? {}), ...command.env, ...prepared.env };
  const name = `orch-${runId}-${step.id}-${Math.random().toString(36).slice(2, 8)}`.replace(/[^a-zA-Z0-9_.-]/g, "-");
  return {
    name,
    Image: prepared.image,
    Cmd: command.argv,
    WorkingDir: prepared.projectRoot,
    User: input.user,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: runLabels({ flavor: FLAVOR, runId, pipeline: input.pipeline, stepId: step.id, component: "step" }),
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Binds: binds,
      NetworkMode: config.network,
      ...(resources.memoryBytes ? { Memory: resources.memoryBytes, MemorySwap: resources.memoryBytes } : {}),
      ...(resources.cpuCount ? { NanoCpus: Math.round(resources.cpuCount * 1e9) } : {}),
      ...(gpus !== undefined ? { DeviceRequests: [{ Driver: "", Count: gpus === "all" ? -1 : gpus, DeviceIDs: [], Capabilities: [["gpu"]], Options: {} }] } : {}),
      ...(shmSize ? { ShmSize: toDockerBytes(shmSize) } : {}),
    },
  };
}

/** uid:gid of this process, so files the steps write in the artifact store stay the user's. */
function defaultUser(): string {
  return typeof process.getuid === "function" ? `${process.getuid()}:${process.getgid!()}` : "0:0";
}

async function tsxCacheDir(user: string): Promise<string | undefined> {
  const uid = /^\d+/.exec(user)?.[0];
  if (uid === undefined) return undefined;
  const dir = join(tmpdir(), `orch-docker-tsx-cache-${uid}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

const MAX_KEPT_LINES = 50_000;

/**
 * Runs one step in its own container and waits for it: output goes to the live view as it comes
 * and into the step log; an OOM kill or a crash becomes the step's failure reason; the container is
 * removed afterwards (unless removeContainers is false).
 */
async function runStepContainer(
  docker: Docker,
  config: LocalDockerOrchestratorConfig,
  store: ArtifactStore,
  prepared: PreparedImage,
  request: LaunchRequest,
  run: { removals: Set<Promise<unknown>>; abortRun: () => void },
): Promise<LaunchResult> {
  const { runId, step, snapshot, signal } = request;
  const { removals } = run;
  // Another process (orch run stop) may have asked the engine to stop this run.
  if (!signal.aborted && (await stopRequested(docker, runId))) run.abortRun();
  if (signal.aborted) return { failureReason: "the run was stopped before the step started" };
  if (store.flavor === "local") await mkdir(store.uri, { recursive: true });
  const user = config.user ?? defaultUser();
  const spec = containerSpec({ config, prepared, runId, step, pipeline: snapshot.pipeline.name, store, user, tsxCache: await tsxCacheDir(user) });
  const container = await docker.createContainer(spec);
  const output: string[] = [];
  let dropped = 0;
  const onLine = (line: string) => {
    output.push(line);
    if (output.length > 2 * MAX_KEPT_LINES) {
      const cut = output.length - MAX_KEPT_LINES;
      output.splice(0, cut);
      dropped += cut;
    }
    request.writeLog(line);
  };
  const onAbort = () => void container.stop({ t: config.stopGraceSeconds }).catch(() => {});
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const ended = demuxLines(docker, stream, onLine);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) return { failureReason: "the run was stopped before the step started" };
    await container.start();
    const deadline = stepTimeBudget(step, { graceSeconds: config.timeoutGraceSeconds });
    const watchdog = deadline === undefined ? undefined : setTimeout(() => void container.kill().catch(() => {}), deadline);
    const { StatusCode: exitCode } = (await container.wait().finally(() => clearTimeout(watchdog))) as { StatusCode: number };
    if (exitCode !== 0 && !signal.aborted && (await stopRequested(docker, runId))) run.abortRun();
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000))]);
    await syncStepLog(store, runId, step.id, output, dropped);
    // An OOM kill shows as a non-zero exit (137); only then is the container's state needed.
    const oomKilled = exitCode !== 0 && (await container.inspect()).State.OOMKilled;
    if (oomKilled) {
      const limit = spec.HostConfig?.Memory ? ` of ${formatBytes(spec.HostConfig.Memory)}` : "";
      return { failureReason: `out of memory: the step's container exceeded its memory limit${limit} and was killed (exit code ${exitCode})` };
    }
    if (exitCode !== 0) {
      const tail = output.slice(-20).join("\n");
      if (/JavaScript heap out of memory/.test(tail)) return { failureReason: `out of memory (JavaScript heap), exit code ${exitCode}:\n${tail}` };
      return { failureReason: `exit code ${exitCode}${signal.aborted ? " (stopped)" : ""}${tail ? `:\n${tail}` : ""}` };
    }
    return {};
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (config.removeContainers) {
      const removal = container.remove({ force: true }).catch(() => {});
      removals.add(removal);
    }
  }
}

/** Splits a multiplexed attach/logs stream into lines of stdout and stderr; resolves when it ends. */
function demuxLines(docker: Docker, stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  const splitter = () => {
    const pass = new PassThrough();
    const decoder = new StringDecoder("utf8"); // a character split across chunks stays whole
    let partial = "";
    pass.on("data", (chunk: Buffer) => {
      const text = partial + decoder.write(chunk);
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) onLine(line.replace(/\r$/, ""));
    });
    pass.on("end", () => {
      if (partial) onLine(partial);
      partial = "";
    });
    return pass;
  };
  const stdout = splitter();
  const stderr = splitter();
  docker.modem.demuxStream(stream, stdout, stderr);
  return new Promise((resolve) => {
    const done = () => {
      stdout.end();
      stderr.end();
      resolve();
    };
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}

/**
 * Makes the step log hold the container's whole output. The step runner inside already appended
 * its own lines (and echoed them to stdout); when the container output contains them in order, it
 * replaces the file (adding what the runner never saw: console output, crashes, the OOM kill);
 * otherwise the missing container lines are appended.
 */
async function syncStepLog(store: ArtifactStore, runId: string, stepId: string, output: string[], dropped: number): Promise<void> {
  if (output.length === 0) return;
  const key = journalKeys.log(runId, stepId);
  const existing = await store.read(key);
  const fileLines = existing ? Buffer.from(existing).toString("utf8").split("\n") : [];
  if (fileLines.at(-1) === "") fileLines.pop();
  let matched = 0;
  for (const line of output) if (matched < fileLines.length && line === fileLines[matched]) matched++;
  const header = dropped > 0 ? [`[orch] ${dropped} earlier lines of container output were dropped`] : [];
  if (matched === fileLines.length && dropped === 0) {
    if (output.length > fileLines.length) await store.write(key, `${output.join("\n")}\n`);
    return;
  }
  const known = new Set(fileLines);
  const extra = output.filter((line) => !known.has(line));
  if (extra.length === 0) return;
  const text = [...fileLines, ...header, "[orch] container output:", ...extra].join("\n");
  await store.write(key, `${text}\n`);
}

const stopRequestLabels = (runId: string) => ({ [ORCH_LABELS.managedBy]: ORCH_MANAGED_BY, [ORCH_LABELS.component]: "stop-request", [ORCH_LABELS.runId]: runId });
const stopVolumeName = (runId: string) => `orch-stop-${runId}`.replace(/[^a-zA-Z0-9_.-]/g, "-");

/** Leaves a stop request for a run on the engine: a small labelled volume, visible to every process. */
async function requestStop(docker: Docker, runId: string): Promise<void> {
  await docker.createVolume({ Name: stopVolumeName(runId), Labels: stopRequestLabels(runId) });
}

async function stopRequested(docker: Docker, runId: string): Promise<boolean> {
  const { Volumes } = await docker.listVolumes({ filters: { label: Object.entries(stopRequestLabels(runId)).map(([key, value]) => `${key}=${value}`) } });
  return (Volumes ?? []).length > 0;
}

async function clearStopRequest(docker: Docker, runId: string): Promise<void> {
  await docker.getVolume(stopVolumeName(runId)).remove().catch(() => {});
}

/**
 * Removes the step containers of runs that no process drives any more: every container of `resumedRunId`
 * (it is being resumed, so nothing else runs it), and those of runs in this store that have finished or
 * whose driving process on this host is gone (killed with -9, the machine rebooted). Containers of runs
 * driven by a live process, and of runs this store does not know, are left alone.
 */
export async function removeLeftoverContainers(docker: Docker, store: ArtifactStore, resumedRunId?: string): Promise<string[]> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.flavor}=${FLAVOR}`] } });
  const runIds = [...new Set(containers.map((c) => c.Labels?.[ORCH_LABELS.runId]).filter((id): id is string => Boolean(id)))];
  const removed: string[] = [];
  for (const runId of runIds) {
    if (activeRuns.has(runId)) continue;
    if (runId !== resumedRunId) {
      const run = await readRunRecord(store, runId).catch(() => undefined);
      if (!run) continue;
      if (run.status === "running" && !runOwnerGone(run)) continue;
    }
    if ((await removeRunContainers(docker, runId, 0)) > 0) removed.push(runId);
  }
  return removed;
}

/** Stops (SIGTERM, SIGKILL after `graceSeconds`) and removes every container labelled with the run. */
export async function removeRunContainers(docker: Docker, runId: string, graceSeconds: number): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${ORCH_LABELS.runId}=${runId}`] } });
  await Promise.all(
    containers.map(async (info) => {
      const container = docker.getContainer(info.Id);
      if (info.State === "running") await container.stop({ t: graceSeconds }).catch(() => {});
      await container.remove({ force: true }).catch(() => {});
    }),
  );
  return containers.length;
}

async function* followContainerLogs(docker: Docker, id: string): AsyncGenerator<string> {
  const stream = (await docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream;
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  void demuxLines(docker, stream, (line) => {
    queue.push(line);
    wake?.();
  }).then(() => {
    finished = true;
    wake?.();
  });
  for (;;) {
    if (queue.length > 0) {
      yield queue.shift()!;
      continue;
    }
    if (finished) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}

function formatBytes(bytes: number): string {
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes % 1e6 === 0) return `${bytes / 1e6} MB`;
  return `${bytes} bytes`;
}
