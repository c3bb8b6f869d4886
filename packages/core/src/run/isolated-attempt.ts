/**
 * Runs one attempt of a step in a worker thread (step-worker.ts) that can be terminated: a timeout
 * or a stop ends the attempt even while the step's code busy-loops, and timers or intervals it left
 * behind die with the worker. Steps with a `timeout` run this way (ORCH_STEP_ISOLATION: `timeout`,
 * the default; `all`; `none`). Measured cost and the choice: see the package README.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { moduleResolve } from "import-meta-resolve";
import { OrchError, type ErrorRecord, type OrchErrorCode } from "../errors.js";
import type { SnapshotStep } from "../snapshot/snapshot.js";
import type { OutputRecord } from "../store/journal.js";
import { compiledModuleRoot } from "./compiled-modules.js";
import { showStepOutput } from "./output-capture.js";
import type { StepLog } from "./step-log.js";

export type AttemptInput = { kind: "artifact"; artifactId: string; materializer: string; contentHash: string } | { kind: "param"; value: unknown } | { kind: "none" };

/** What the worker gets (structured-cloned): everything to find the step, its inputs and the store. */
export interface AttemptRequest {
  projectRoot: string;
  runId: string;
  pipelineName: string;
  step: SnapshotStep;
  attempt: number;
  inputs: AttemptInput[];
  store: { flavor: string; config: Record<string, unknown> };
  /** The parent's precompiled-module folder (load-source.ts), so the worker loads the same modules. */
  compiledRoot?: string;
}

export type WorkerMessage =
  /** Module and inputs are loaded; the step function starts now (its timeout starts counting). */
  | { type: "started" }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; message: string }
  | { type: "metadata"; metadata: Record<string, unknown> }
  | { type: "succeeded"; outputs: Record<string, OutputRecord> }
  | { type: "failed"; error: ErrorRecord }
  /** The worker could not load the step (e.g. defined in a test file or a REPL): run it in-process. */
  | { type: "unavailable"; error: ErrorRecord };

export type ParentMessage = { type: "abort"; reason: ErrorRecord };

/** Thrown when the step cannot be loaded in a worker; the runner falls back to running it in-process. */
export class StepIsolationUnavailable extends Error {
  constructor(readonly detail: ErrorRecord) {
    super(detail.message);
  }
}

/** How long a stopped attempt may take to notice its abort signal before its worker is terminated. */
export const STOP_GRACE_MS = 2_000;

/** Modules a worker could not load, so later steps from them do not pay for trying again. */
const unavailable = new Map<string, ErrorRecord>();

export type IsolationMode = "timeout" | "all" | "none";

export function isolationMode(): IsolationMode {
  const value = process.env.ORCH_STEP_ISOLATION;
  return value === "all" || value === "none" ? value : "timeout";
}

/** A worker that has not loaded the step's module and inputs within this time fails the attempt. */
export const LOAD_LIMIT_MS = 120_000;

/**
 * Runs the attempt in a fresh worker; `outputs` resolves with the saved outputs, `started` once the
 * step function starts. `signal` aborting with an
 * `E_STEP_TIMEOUT` reason terminates the worker at once; any other abort (a stop) is passed on to the
 * step and the worker is terminated after STOP_GRACE_MS if the step has not ended by then.
 */
export function runIsolatedAttempt(
  request: AttemptRequest,
  options: { signal: AbortSignal; log: StepLog; captureOutput: boolean; onMetadata(metadata: Record<string, unknown>): void },
): { outputs: Promise<Record<string, OutputRecord>>; started: Promise<void> } {
  const { signal, log } = options;
  if (unavailable.has(request.step.source.module)) throw new StepIsolationUnavailable(unavailable.get(request.step.source.module)!);
  const worker = new Worker(BOOT, {
    eval: true,
    workerData: { ...request, ...(compiledModuleRoot() ? { compiledRoot: compiledModuleRoot() } : {}), boot: bootOptions(request.projectRoot) },
    execArgv: workerExecArgv(),
    stdout: true,
    stderr: true,
  });
  // What the step prints: into its log, and on to this process's own output as it would be in-process.
  for (const name of ["stdout", "stderr"] as const) {
    worker[name].setEncoding("utf8");
    worker[name].on("data", (text: string) => {
      if (options.captureOutput) log.writeOutput(name, text);
      showStepOutput(name, text);
    });
  }
  let markStarted!: () => void;
  const started = new Promise<void>((resolveStarted) => (markStarted = resolveStarted));
  const outputs = new Promise<Record<string, OutputRecord>>((resolvePromise, reject) => {
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const loadTimer = setTimeout(
      () =>
        settle(() =>
          reject(
            new OrchError("E_STEP_TIMEOUT", {
              step: request.step.id,
              message: `Step "${request.step.id}" attempt ${request.attempt}: its worker thread did not load the step's module and inputs within ${LOAD_LIMIT_MS / 1000}s.`,
              hint: "Look for slow or blocking top-level code in the step's module.",
            }),
          ),
        ),
      LOAD_LIMIT_MS,
    );
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      clearTimeout(graceTimer);
      clearTimeout(loadTimer);
      outcome();
      // Always: whatever the step left running (intervals, sockets) must not outlive the attempt.
      void worker.terminate();
    };
    const onAbort = () => {
      const reason = signal.reason;
      if (reason instanceof OrchError && reason.code === "E_STEP_TIMEOUT") return settle(() => reject(reason));
      worker.postMessage({ type: "abort", reason: { message: (reason as Error)?.message ?? "The run was stopped.", code: (reason as { code?: string })?.code ?? "E_CANCELLED" } } satisfies ParentMessage);
      graceTimer = setTimeout(() => settle(() => reject(reason)), STOP_GRACE_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });

    worker.on("message", (message: WorkerMessage) => {
      switch (message.type) {
        case "started":
          clearTimeout(loadTimer);
          return markStarted();
        case "log":
          return log.logger[message.level](message.message);
        case "metadata":
          return options.onMetadata(message.metadata);
        case "succeeded":
          return settle(() => resolvePromise(message.outputs));
        case "failed":
          return settle(() => reject(errorFrom(message.error)));
        case "unavailable":
          unavailable.set(request.step.source.module, message.error);
          return settle(() => reject(new StepIsolationUnavailable(message.error)));
      }
    });
    // An uncaught exception inside the worker (a step's stray rejection, say) fails the attempt.
    worker.on("error", (error) => settle(() => reject(error)));
    worker.on("exit", (code) =>
      settle(() =>
        reject(
          new OrchError("E_STEP_FAILED", {
            step: request.step.id,
            message: `Step "${request.step.id}" attempt ${request.attempt} ended its worker (exit code ${code}) without a result; did it call process.exit()?`,
            hint: "Return (or throw) from the step function instead of exiting.",
          }),
        ),
      ),
    );
  });
  return { outputs, started };
}

/** An error that crossed the thread boundary, rebuilt with its code so retry decisions still see it. */
function errorFrom(record: ErrorRecord): Error {
  const error = record.name === "OrchError" && record.code ? new OrchError(record.code as OrchErrorCode, { message: record.message }) : new Error(record.message);
  if (record.name) error.name = record.name;
  if (record.code && !(error instanceof OrchError)) (error as { code?: string }).code = record.code;
  if (record.stack) error.stack = record.stack;
  return error;
}

// The worker is started from a tiny CommonJS script so that, when core runs from its TypeScript
// sources, tsx is registered in the worker before the worker's own module is imported.
const BOOT = `
const { workerData } = require("node:worker_threads");
(async () => {
  const tsx = workerData.boot.tsx;
  if (tsx) {
    if (tsx.api) (await import(tsx.api)).register();
    else await import(tsx.preload); // what "node --import tsx" imports
    // load-source.ts looks for tsx here before registering it (again)
    process.execArgv.push("--import=tsx");
  }
  await import(workerData.boot.entry);
})().catch((error) => {
  require("node:worker_threads").parentPort.postMessage({ type: "unavailable", error: { message: String((error && error.stack) || error) } });
});
`;

/** step-worker's file: next to this module from source, under run/ in the built package (whose chunks sit at the root). */
const WORKER_ENTRY = ["./step-worker.ts", "./step-worker.js", "./run/step-worker.js"].map((file) => new URL(file, import.meta.url)).find((url) => existsSync(fileURLToPath(url)));

function bootOptions(projectRoot: string): { entry: string; tsx?: { api?: string; preload?: string } } {
  if (!WORKER_ENTRY) throw new StepIsolationUnavailable({ message: "@orch/core's step worker module is missing from its install." });
  // tsx in the worker: core itself from TypeScript, or a TypeScript step module with tsx loaded here.
  const needsTsx = WORKER_ENTRY.pathname.endsWith(".ts") || hasTypeScriptLoader();
  const tsx = needsTsx ? resolveTsx(projectRoot) : undefined;
  return { entry: WORKER_ENTRY.href, ...(tsx ? { tsx } : {}) };
}

function hasTypeScriptLoader(): boolean {
  return /\btsx\b/.test([...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ")) || "__vitest_worker__" in globalThis;
}

/** The project's tsx, else the one this process preloaded (`--import <tsx>`, e.g. the orch CLI's own), else core's. */
function resolveTsx(projectRoot: string): { api?: string; preload?: string } | undefined {
  const fromProject = resolveFrom(pathToFileURL(resolve(projectRoot, "__orch_resolve__.js")));
  if (fromProject) return { api: fromProject };
  const flags = process.execArgv;
  for (let i = 0; i < flags.length; i++) {
    const value = flags[i] === "--import" ? flags[i + 1] : flags[i]!.startsWith("--import=") ? flags[i]!.slice("--import=".length) : undefined;
    if (value && /tsx/.test(value) && (value.startsWith("file:") || value.startsWith("/"))) return { preload: value.startsWith("/") ? pathToFileURL(value).href : value };
  }
  const fromCore = resolveFrom(new URL(import.meta.url));
  return fromCore ? { api: fromCore } : undefined;
}

function resolveFrom(parent: URL): string | undefined {
  try {
    return moduleResolve("tsx/esm/api", parent).href;
  } catch {
    return undefined;
  }
}

/**
 * The worker resolves `@orch/core` to the same files as this thread (so the step registers in the
 * core the worker runs): this process's flags without its tsx preload (registered by BOOT instead),
 * plus the source condition when core runs from TypeScript (under vitest it is not on the command line).
 */
function workerExecArgv(): string[] {
  const args: string[] = [];
  const flags = process.execArgv;
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    if ((flag === "--import" || flag === "--loader" || flag === "--require" || flag === "-r") && /tsx/.test(flags[i + 1] ?? "")) {
      i++;
      continue;
    }
    if (/^--(import|loader|require)=.*tsx/.test(flag)) continue;
    args.push(flag);
  }
  if (WORKER_ENTRY?.pathname.endsWith(".ts") && !args.some((a) => a.includes("@orch/source"))) args.push("--conditions=@orch/source");
  return args;
}
