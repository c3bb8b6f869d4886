// The local_docker runtime (loaded by the entry's `runtime: () => import("./runtime.js")`): core's
// scheduler in this process through the plugin kit; the Docker translation lives in image.ts
// (the step image), container.ts (one step's container) and engine.ts (what a run leaves on the engine).
import {
  ORCH_LABELS,
  readRunRecord,
  readStepLog,
  requestRunStop,
  runOnCoreScheduler,
  settleRun,
  type CoreSchedulerRun,
  type LaunchRequest,
  type Orchestrator,
  type PluginContext,
} from "@orch/core/plugin";
import { assertDockerAvailable, createDockerClient } from "@orch/docker";
import { DISPLAY, FLAVOR, type LocalDockerOrchestratorConfig } from "./config.js";
import { followContainerLogs, runStepContainer } from "./container.js";
import { clearStopRequest, removeLeftoverContainers, removeRunContainers, requestStop } from "./engine.js";
import { prepareImage, withPrecompiledBundle } from "./image.js";

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
      await removeLeftoverContainers(docker, store, { ...(submit.resume ? { resumedRunId: submit.runId } : {}), drivenHere: (runId) => activeRuns.has(runId) });
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
