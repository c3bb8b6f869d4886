// One step's container: its spec (the kit's step command, labels, mounts, resource limits), running it
// to the end with its output in the live view and the step log, and the reason when it died.
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import {
  journalKeys,
  normalizeResources,
  runLabels,
  stepCommand,
  stepTimeBudget,
  toDockerBytes,
  type ArtifactStore,
  type LaunchRequest,
  type LaunchResult,
  type SnapshotStep,
} from "@orch/core/plugin";
import type { Docker } from "@orch/docker";
import { FLAVOR, settingsSchema, type LocalDockerOrchestratorConfig, type LocalDockerStepSettings } from "./config.js";
import { stopRequested } from "./engine.js";
import type { PreparedImage } from "./image.js";

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
  const binds = prepared.mounts.map((path) => `${path}:${path}:ro`);
  if (store.flavor === "local") binds.push(`${store.uri}:${store.uri}:rw`);
  const uid = /^\d+/.exec(input.user)?.[0];
  if (input.tsxCache && uid !== undefined) binds.push(`${input.tsxCache}:/tmp/tsx-${uid}:rw`);
  binds.push(...config.volumes);

  const resources = normalizeResources(step.settings.resources ?? {});
  const gpus = stepSettings.gpus ?? (resources.gpuCount ? resources.gpuCount : config.gpus);
  const shmSize = stepSettings.shmSize ?? config.shmSize;
  // With a precompiled bundle, the store plugin bundled with it (by path).
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
export async function runStepContainer(
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

export async function* followContainerLogs(docker: Docker, id: string): AsyncGenerator<string> {
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
