import { AsyncLocalStorage } from "node:async_hooks";
import { OrchError } from "../errors.js";

export interface StepLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What a running step can know and do; `getStepContext()` returns it inside a step function. */
export interface StepContext {
  runId: string;
  stepId: string;
  stepName: string;
  pipelineName: string;
  /** 1 for the first attempt, 2 for the first retry … */
  attempt: number;
  /** Aborted when the run is stopped or the attempt times out: long steps should watch it. */
  signal: AbortSignal;
  /** Lines land in the step's log file (`runs/<runId>/logs/<stepId>.log`). */
  logger: StepLogger;
  /** Attaches JSON metadata to the step record (merged across calls). */
  addMetadata(metadata: Record<string, unknown>): void;
}

const contextStorage = new AsyncLocalStorage<StepContext>();

export function runWithStepContext<T>(context: StepContext, fn: () => T): T {
  return contextStorage.run(context, fn);
}

export function getStepContext(): StepContext {
  const context = contextStorage.getStore();
  if (!context) {
    throw new OrchError("E_USAGE", {
      message: "getStepContext() was called outside a running step.",
      hint: "Call it inside a step function (or a function it calls).",
    });
  }
  return context;
}
