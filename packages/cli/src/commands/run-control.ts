import type { OrchIndex, RunRow } from "@orch/store-sqlite";
import { displayStatus, openProjectIndex, requireProject, requireRun, type Project } from "../context.js";
import { UsageError } from "../errors.js";
import { note, paint, printJson } from "../output.js";
import type { RecordingContext } from "../runtime.js";

/** The orchestrator of the stack a run ran on (created; dispose it when done). */
export async function orchestratorForRun(run: RunRow, index: OrchIndex, project: Project, observers: RecordingContext["observers"] = []) {
  const core = await import("@orch/core/host");
  const { installStackResolver, stackFromIndex } = await import("../runtime.js");
  const context: RecordingContext = { index, project, observers, resolutions: 0, ...(run.scheduleId ? { scheduleId: run.scheduleId } : {}) };
  installStackResolver(context);
  if (!run.stack || !index.getStack(run.stack)) {
    throw new UsageError(`Run ${run.runId} ran on stack "${run.stack ?? "?"}", which is no longer registered.`, `Register it again (orch stack register ${run.stack ?? "NAME"} …) to control this run.`);
  }
  const stack = await core.activateStack(await stackFromIndex(context, run.stack), project.root);
  const orchestrator = await stack.orchestrator.plugin.create(stack.orchestrator.config as never, {
    projectRoot: project.root,
    stackName: stack.name,
    artifactStore: stack.artifactStore,
    ...(stack.containerRegistry ? { containerRegistry: stack.containerRegistry } : {}),
  });
  return { orchestrator, stack, core };
}

/** orch run resume: re-runs a failed/stopped/interrupted run under its id, keeping the steps that succeeded. */
export async function resumeRun(id: string, options: { json?: boolean }): Promise<number> {
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    const run = requireRun(index, id, project);
    if (run.status === "running") {
      const owner = run.pid ? ` (owned by pid ${run.pid}${run.host ? ` on ${run.host}` : ""})` : "";
      throw new UsageError(`Run ${run.runId} is still running${owner}; it has one owner at a time.`, `Wait for it, or stop it first: orch run stop ${run.runId}`);
    }
    if (run.status === "succeeded") throw new UsageError(`Run ${run.runId} already succeeded; nothing to resume.`, "Start a new run with orch pipeline run.");
    const { ensureTypeScript } = await import("../runtime.js");
    await ensureTypeScript();
    const { createLiveView } = await import("../live-view.js");
    const view = createLiveView({ quiet: Boolean(options.json) });
    const { orchestrator, stack, core } = await orchestratorForRun(run, index, project, [view]);
    try {
      const bytes = await stack.artifactStore.read(core.journalKeys.snapshot(run.runId));
      if (!bytes) throw new UsageError(`The snapshot of run ${run.runId} is missing from ${stack.artifactStore.uri}.`, "The run's journal was deleted; start a new run instead.");
      const snapshot = core.parseSnapshot(JSON.parse(Buffer.from(bytes).toString("utf8")), `run ${run.runId}`);
      const pipeline = snapshot.pipeline.dynamic ? await core.loadPipelineDefinition(snapshot, project.root) : undefined;
      const definitions = snapshot.pipeline.dynamic ? undefined : await core.loadStepDefinitions(snapshot.order.map((s) => snapshot.steps[s]!), project.root);
      const finished = index.getSteps(run.runId).filter((s) => s.status === "succeeded" || s.status === "cached");
      const kept = finished.map((s) => s.stepId);
      if (!options.json) note(`Resuming run ${run.runId} (${displayStatus(run)}); reusing ${kept.length ? kept.join(", ") : "no steps"} unless an artifact of theirs is missing or damaged.`);
      const controller = new AbortController();
      const onSignal = () => {
        note(`\n[orch] stopping run ${run.runId}…`);
        controller.abort();
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      let result;
      try {
        const handle = await orchestrator.submit(snapshot, {
          runId: run.runId,
          signal: controller.signal,
          resume: true,
          ...(definitions ? { definitions } : {}),
          ...(pipeline ? { pipeline } : {}),
        });
        result = await handle.wait();
      } finally {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
        view.close();
      }
      // A step the resume ran again (its artifact was gone) has a new record: it was not reused.
      const startedBefore = new Map(finished.map((s) => [s.stepId, s.startedAt]));
      const reused = result.steps.filter((s) => startedBefore.has(s.stepId) && startedBefore.get(s.stepId) === s.startedAt).map((s) => s.stepId);
      const failed = result.steps.find((s) => s.status === "failed");
      if (options.json) {
        const error = result.run.error ?? failed?.error;
        printJson({ runId: run.runId, status: result.run.status, reused, steps: result.steps.map((s) => ({ id: s.stepId, status: s.status })), ...(result.run.status !== "succeeded" && error ? { error } : {}) });
      } else {
        const rerun = kept.filter((id) => !reused.includes(id));
        if (rerun.length) note(`Ran again because an artifact of theirs was missing or damaged: ${rerun.join(", ")}.`);
      }
      if (result.run.status !== "succeeded") {
        if (failed) note(`${paint.red("error:")} step ${failed.stepId} failed: ${failed.error?.message.split("\n")[0] ?? ""}`);
        return 1;
      }
      return 0;
    } finally {
      await orchestrator.dispose?.();
    }
  } finally {
    index.close();
  }
}
