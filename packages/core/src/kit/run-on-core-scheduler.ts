import { OrchError } from "../errors.js";
import { clearStopRequest } from "../run/stop-request.js";
import { displayFlavor } from "../names.js";
import type { PluginContext, RunHandle, SubmitContext } from "../plugins/plugin.js";
import { executeRun, type RunOutcome, type StepLauncher } from "../run/execute-run.js";
import type { PipelineSettings, Snapshot } from "../snapshot/snapshot.js";

export interface CoreSchedulerContext {
  /** The context `createOrchestrator(config, context)` received. */
  plugin: PluginContext;
  /** The context `submit(snapshot, submit)` received. */
  submit: SubmitContext;
  /** The flavor id, recorded as the run's orchestrator (in the users' spelling, `local_docker`). */
  flavor: string;
  /** How many steps run at once (default: core's scheduler default). */
  maxParallelism?: number;
  /** Overrides the pipeline's execution mode (a component config key of several flavors). */
  executionMode?: PipelineSettings["executionMode"];
  /** Runs after the run has ended and before `wait()` resolves: remove containers, close clients. */
  cleanup?: () => Promise<unknown>;
}

/** A run this process drives: the handle, plus a way for the flavor's `stop()` to end it from the inside. */
export interface CoreSchedulerRun extends RunHandle {
  /** Ends the run: no new step starts, running ones get the abort signal; the run ends `stopped`. */
  abort(reason?: unknown): void;
  /** The same promise `wait()` returns. */
  readonly done: Promise<RunOutcome>;
}

/**
 * Runs a snapshot with core's scheduler in this process: steps in-process (no `launch`) or each
 * started elsewhere by `launch` (a container, a child process) — the submit block of every flavor
 * whose driving process is the one that submitted. It writes the journal, forwards the submit
 * signal, passes the pipeline (dynamic pipelines run their function here) and the step functions
 * compiled in this process (in-process only), continues a resumed run, and clears a spent stop
 * request before and after.
 */
export function runOnCoreScheduler(snapshot: Snapshot, ctx: CoreSchedulerContext, launch?: StepLauncher): CoreSchedulerRun {
  const { submit, plugin } = ctx;
  const store = plugin.artifactStore;
  const controller = new AbortController();
  const forward = () => controller.abort(submit.signal.reason);
  if (submit.signal.aborted) forward();
  else submit.signal.addEventListener("abort", forward, { once: true });
  const effective: Snapshot = ctx.executionMode
    ? { ...snapshot, pipeline: { ...snapshot.pipeline, settings: { ...snapshot.pipeline.settings, executionMode: ctx.executionMode } } }
    : snapshot;
  const clearStop = () => clearStopRequest(store, submit.runId).catch(() => {});
  const done = (async () => {
    // A resumed run may have been stopped: that request is spent.
    if (submit.resume) await clearStop();
    return executeRun({
      snapshot: effective,
      runId: submit.runId,
      store,
      signal: controller.signal,
      stack: plugin.stackName,
      orchestrator: displayFlavor(ctx.flavor),
      projectRoot: plugin.projectRoot,
      ...(ctx.maxParallelism ? { maxParallelism: ctx.maxParallelism } : {}),
      ...(launch ? { launch } : submit.definitions ? { definitions: submit.definitions } : {}),
      ...(submit.pipeline ? { pipeline: submit.pipeline } : {}),
      ...(submit.observer ? { observer: submit.observer } : {}),
      ...(submit.resume ? { resume: true } : {}),
    });
  })().finally(async () => {
    submit.signal.removeEventListener("abort", forward);
    await ctx.cleanup?.();
    await clearStop();
  });
  // wait() may never be called (a fire-and-forget caller): the rejection is the caller's to see there.
  done.catch(() => {});
  return {
    runId: submit.runId,
    wait: () => done,
    done,
    abort: (reason) => controller.abort(reason ?? new OrchError("E_CANCELLED", { message: `Run ${submit.runId} was stopped.` })),
  };
}
