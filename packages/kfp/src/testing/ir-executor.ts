import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/** Task states, named as the KFP API names them. */
export type IrTaskState = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED" | "CANCELED";

export interface IrTaskEvent {
  /** The task's key in the root DAG. */
  task: string;
  /** Its `taskInfo.name` (orch writes the step id there). */
  displayName: string;
  state: IrTaskState;
  attempt: number;
  /** A pod-like name for this attempt: `<runName>-<task>-<attempt>`. */
  podName: string;
  exitCode?: number;
  error?: string;
}

export interface IrExecutorOptions {
  pipelineSpec: unknown;
  platformSpec?: unknown;
  /** Values of the root's input parameters (defaults from the IR fill the rest). */
  parameters?: Record<string, unknown>;
  /** The run's name in pod names and `{{$.pipeline_job_name}}`. */
  runName?: string;
  /** The backend's run id, for `{{$.pipeline_job_uuid}}` (default: runName). */
  runUuid?: string;
  /** `process` (default): each task's command as a child process; `docker`: in a container of the task's image (or `docker.image`). */
  mode?: "process" | "docker";
  docker?: {
    /** Run every task in this image instead of the IR's (e.g. `orch-node-base:local`). */
    image?: string;
    /** Host paths mounted at the same path (the project, the store folder). */
    mounts?: string[];
    network?: "host" | "none";
    user?: string;
  };
  /** Environment every task gets besides the IR's (PATH, HOME …) — the IR's own env wins. */
  baseEnv?: Record<string, string>;
  cwd?: string;
  /** Kubernetes Secrets for the PlatformSpec's `secretAsEnv`: name → key → value. */
  secrets?: Record<string, Record<string, string>>;
  /** Tasks running at once (default 4). */
  maxParallelism?: number;
  /** Aborting terminates the run: running tasks get SIGTERM (SIGKILL after the grace), the rest never start. */
  signal?: AbortSignal;
  /** Seconds between SIGTERM and SIGKILL when a task is terminated, as a pod's grace period (default 30). */
  terminationGraceSeconds?: number;
  onTask?: (event: IrTaskEvent) => void;
  onLog?: (task: string, attempt: number, chunk: string) => void;
}

export interface IrRunResult {
  state: "SUCCEEDED" | "FAILED" | "CANCELED";
  tasks: Record<string, { state: IrTaskState; attempts: number; exitCode?: number; error?: string; log: string }>;
}

interface Task {
  name: string;
  displayName: string;
  deps: string[];
  /** Trigger policy ALL_UPSTREAM_TASKS_COMPLETED: runs once its upstream tasks ended, however they ended. */
  afterAll: boolean;
  argv: string[];
  env: Record<string, string>;
  image: string;
  retry: { max: number; backoffMs: number; factor: number; maxDurationMs: number };
  deadlineMs?: number;
  resolveError?: string;
}

/**
 * Runs what a KFP v2 IR says, the way a KFP backend would and without the snapshot: every task of the
 * root DAG runs its executor's container command and args (placeholders for input parameters and the
 * run resolved) with the env the IR and the PlatformSpec declare, once its dependent tasks succeeded,
 * retried per its retryPolicy, ended at its activeDeadlineSeconds. Tasks downstream of a failure are
 * SKIPPED. For tests: the loopback KFP and Vertex servers execute uploaded pipelines with it.
 */
export async function runPipelineSpec(options: IrExecutorOptions): Promise<IrRunResult> {
  const tasks = planTasks(options);
  const runName = options.runName ?? "run";
  const state = new Map<string, IrTaskState>(tasks.map((t) => [t.name, "PENDING"]));
  const result: IrRunResult = { state: "SUCCEEDED", tasks: {} };
  for (const t of tasks) result.tasks[t.name] = { state: "PENDING", attempts: 0, log: "" };
  const running = new Set<Promise<void>>();
  const children = new Set<() => void>();
  const onAbort = () => children.forEach((kill) => kill());
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const limit = options.maxParallelism ?? 4;
  const emit = (task: Task, s: IrTaskState, attempt: number, extra: Partial<IrTaskEvent> = {}) => {
    state.set(task.name, s);
    const record = result.tasks[task.name]!;
    record.state = s;
    record.attempts = Math.max(record.attempts, attempt);
    if (extra.exitCode !== undefined) record.exitCode = extra.exitCode;
    if (extra.error !== undefined) record.error = extra.error;
    options.onTask?.({ task: task.name, displayName: task.displayName, state: s, attempt, podName: `${runName}-${task.name}-${attempt}`.slice(0, 253), ...extra });
  };

  const runTask = async (task: Task) => {
    if (task.resolveError) return emit(task, "FAILED", 1, { error: task.resolveError });
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) return emit(task, "CANCELED", attempt);
      emit(task, "RUNNING", attempt);
      const outcome = await runAttempt(task, attempt, options, runName, children, (chunk) => {
        result.tasks[task.name]!.log += chunk;
        options.onLog?.(task.name, attempt, chunk);
      });
      if (options.signal?.aborted) return emit(task, "CANCELED", attempt, outcome);
      if (outcome.exitCode === 0) return emit(task, "SUCCEEDED", attempt, outcome);
      const delay = task.retry.backoffMs * task.retry.factor ** (attempt - 1);
      if (attempt > task.retry.max || Date.now() - started + delay > task.retry.maxDurationMs) return emit(task, "FAILED", attempt, outcome);
      await sleep(delay);
    }
  };

  try {
    for (;;) {
      if (options.signal?.aborted) break;
      const ended = (d: string) => ["SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"].includes(state.get(d)!);
      const ready = tasks.filter((t) => state.get(t.name) === "PENDING" && t.deps.every((d) => (t.afterAll ? ended(d) : state.get(d) === "SUCCEEDED")));
      for (const t of tasks) {
        // A task whose upstream failed, was skipped or canceled never runs (unless it runs after all of them).
        if (state.get(t.name) === "PENDING" && !t.afterAll && t.deps.some((d) => ["FAILED", "SKIPPED", "CANCELED"].includes(state.get(d)!))) emit(t, "SKIPPED", 0);
      }
      for (const task of ready.slice(0, Math.max(0, limit - running.size))) {
        state.set(task.name, "RUNNING");
        const p = runTask(task).finally(() => running.delete(p));
        running.add(p);
      }
      if (!running.size) break;
      await Promise.race(running);
    }
    await Promise.all(running);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  for (const t of tasks) if (state.get(t.name) === "PENDING") emit(t, options.signal?.aborted ? "CANCELED" : "SKIPPED", 0);
  const states = [...state.values()];
  result.state = options.signal?.aborted ? "CANCELED" : states.every((s) => s === "SUCCEEDED") ? "SUCCEEDED" : "FAILED";
  return result;
}

async function runAttempt(
  task: Task,
  attempt: number,
  options: IrExecutorOptions,
  runName: string,
  children: Set<() => void>,
  onOutput: (chunk: string) => void,
): Promise<{ exitCode: number; error?: string }> {
  const env = { ...options.baseEnv, ...task.env };
  let child: ChildProcess;
  let kill: () => void;
  if (options.mode === "docker") {
    const name = `kfp-ir-${runName}-${task.name}-${attempt}-${process.pid}`.replace(/[^a-zA-Z0-9_.-]/g, "-").slice(0, 120);
    const args = ["run", "--rm", "--name", name, "--network", options.docker?.network ?? "host"];
    if (options.docker?.user) args.push("--user", options.docker.user);
    for (const path of options.docker?.mounts ?? []) args.push("-v", `${path}:${path}`);
    if (options.cwd) args.push("-w", options.cwd);
    // Values travel in docker's own environment (`-e NAME`), never on its command line.
    for (const key of Object.keys(task.env)) args.push("-e", key);
    args.push("--entrypoint", task.argv[0]!, options.docker?.image ?? task.image, ...task.argv.slice(1));
    child = spawn("docker", args, { env: { ...process.env, ...task.env }, stdio: ["ignore", "pipe", "pipe"] });
    kill = () => void spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
  } else {
    child = spawn(task.argv[0]!, task.argv.slice(1), { env, ...(options.cwd ? { cwd: options.cwd } : {}), stdio: ["ignore", "pipe", "pipe"] });
    kill = () => {
      child.kill("SIGTERM");
      // As a kubelet does after the pod's grace period.
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), (options.terminationGraceSeconds ?? 30) * 1000).unref();
    };
  }
  children.add(kill);
  if (options.signal?.aborted) kill();
  child.stdout!.setEncoding("utf8").on("data", onOutput);
  child.stderr!.setEncoding("utf8").on("data", onOutput);
  let deadlineHit = false;
  const timer = task.deadlineMs !== undefined ? setTimeout(() => ((deadlineHit = true), kill()), task.deadlineMs) : undefined;
  try {
    const exitCode = await new Promise<number>((resolve) => {
      child.on("error", (error) => {
        onOutput(`${error.message}\n`);
        resolve(127);
      });
      child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
    return deadlineHit ? { exitCode: exitCode || 1, error: "DeadlineExceeded: activeDeadlineSeconds" } : { exitCode };
  } finally {
    if (timer) clearTimeout(timer);
    children.delete(kill);
  }
}

/** The root DAG's tasks with their commands resolved from the IR (and only the IR). */
function planTasks(options: IrExecutorOptions): Task[] {
  const spec = options.pipelineSpec as any;
  const rootParams: Record<string, any> = spec?.root?.inputDefinitions?.parameters ?? {};
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(rootParams)) if (def?.defaultValue !== undefined) values[name] = def.defaultValue;
  Object.assign(values, options.parameters);
  const platform = (options.platformSpec as any)?.platforms?.kubernetes?.deploymentSpec?.executors ?? {};
  const tasks: Task[] = [];
  for (const [name, task] of Object.entries<any>(spec?.root?.dag?.tasks ?? {})) {
    const component = spec.components?.[task.componentRef?.name];
    const label = component?.executorLabel;
    const container = spec.deploymentSpec?.executors?.[label]?.container;
    const deps = new Set<string>(task.dependentTasks ?? []);
    const inputs: Record<string, unknown> = {};
    let resolveError: string | undefined;
    for (const [input, binding] of Object.entries<any>(task.inputs?.parameters ?? {})) {
      if (binding.componentInputParameter !== undefined) {
        if (!(binding.componentInputParameter in values)) resolveError = `input ${input}: pipeline parameter ${binding.componentInputParameter} has no value`;
        inputs[input] = values[binding.componentInputParameter];
      } else if (binding.runtimeValue) {
        const constant = binding.runtimeValue.constant;
        inputs[input] = typeof constant === "string" ? constant.replace(/\{\{\$\.pipeline_job_uuid\}\}/g, options.runUuid ?? options.runName ?? "run").replace(/\{\{\$\.pipeline_job_name\}\}/g, options.runName ?? "run") : constant;
      }
      else if (binding.taskOutputParameter) {
        deps.add(binding.taskOutputParameter.producerTask);
        resolveError = `input ${input}: output parameters of upstream tasks are not supported by this test executor`;
      }
    }
    const substitute = (text: string) =>
      text.replace(/\{\{\$\.([^}]+)\}\}/g, (whole, expr: string) => {
        const param = /^inputs\.parameters\['([^']+)'\]$/.exec(expr);
        if (param) {
          if (!(param[1]! in inputs)) resolveError ??= `placeholder ${whole}: the task has no input parameter ${param[1]}`;
          const value = inputs[param[1]!];
          return typeof value === "string" ? value : JSON.stringify(value);
        }
        if (expr === "pipeline_job_name") return options.runName ?? "run";
        if (expr === "pipeline_job_uuid") return options.runUuid ?? options.runName ?? "run";
        resolveError ??= `placeholder ${whole} is not supported by this test executor`;
        return whole;
      });
    if (!container) resolveError = `component ${task.componentRef?.name} has no container executor`;
    const argv = [...(container?.command ?? []), ...(container?.args ?? [])].map(substitute);
    if (!argv.length) resolveError ??= "the container has no command (image entrypoints are not supported by this test executor)";
    const env: Record<string, string> = {};
    for (const e of container?.env ?? []) env[e.name] = e.value;
    const k8s = platform[label] ?? {};
    for (const secret of k8s.secretAsEnv ?? []) {
      const secretName = secret.secretNameParameter?.runtimeValue?.constant ?? secret.secretName;
      const data = options.secrets?.[secretName];
      if (!data && !secret.optional) resolveError ??= `secret ${secretName} does not exist`;
      for (const { secretKey, envVar } of secret.keyToEnv ?? []) if (data?.[secretKey] !== undefined) env[envVar] = data[secretKey];
    }
    const retry = task.retryPolicy ?? {};
    tasks.push({
      name,
      displayName: task.taskInfo?.name ?? name,
      deps: [...deps],
      afterAll: task.triggerPolicy?.strategy === "ALL_UPSTREAM_TASKS_COMPLETED",
      argv,
      env,
      image: container?.image ?? "",
      retry: {
        max: retry.maxRetryCount ?? 0,
        backoffMs: durationMs(retry.backoffDuration) ?? 0,
        // The proto's defaults: factor 2, at most one hour of retrying.
        factor: retry.backoffFactor ?? 2,
        maxDurationMs: durationMs(retry.backoffMaxDuration) ?? 3_600_000,
      },
      ...(k8s.activeDeadlineSeconds !== undefined ? { deadlineMs: Number(k8s.activeDeadlineSeconds) * 1000 } : {}),
      ...(resolveError ? { resolveError } : {}),
    });
  }
  return tasks;
}

function durationMs(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(value);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}
