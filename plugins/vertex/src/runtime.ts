/**
 * The vertex runtime: a run is its snapshot compiled to KFP IR (@orch/kfp) and submitted as one
 * PipelineJob. Each task runs `orch-entrypoint step` and writes its step's journal; the submitting
 * process follows the journal (core's followRun) and the PipelineJob (its state and taskDetails),
 * and writes what only Vertex knows: tasks that ended without a record, and the run's end.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  OrchError,
  clearStopRequest,
  followRun,
  journalKeys,
  parseSnapshot,
  readJson,
  readRunRecord,
  readStepLog,
  readStepRecords,
  serializeSnapshot,
  settleRun,
  writeRunRecord,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  type Snapshot,
} from "@orch/core/plugin";
import { RUN_ID_PARAMETER, runnerSnapshot, toKfpYaml, toPipelineSpec, type KfpCompileOptions, type KfpCompileResult } from "@orch/kfp";
import { withAcceleratorTypes } from "./accelerators.js";
import { openClients, type VertexClients } from "./client.js";
import type { VertexOrchestratorConfig } from "./config.js";
import { httpStatus, vertexError } from "./errors.js";
import { VERTEX_LABELS, consoleUrl, displayName, labelValue, pipelineJob, pipelineJobId, pipelineRoot, runLabels } from "./job.js";
import { createSchedule, deleteSchedule, listSchedules } from "./schedules.js";
import { jobStatus, recordEndedTasks, settleFromJob, type JobView } from "./status.js";

export interface VertexContext {
  config: VertexOrchestratorConfig;
  plugin: PluginContext;
  clients(): Promise<VertexClients>;
  /** The IR of a snapshot (accelerators mapped, dynamic pipelines refused); `extra`: more compiler options. */
  compileIr(snapshot: Snapshot, extra?: Partial<KfpCompileOptions>): KfpCompileResult;
}

/** The vertex orchestrator runtime. */
export function createOrchestrator(config: VertexOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  let opened: Promise<VertexClients> | undefined;
  const clients = () => (opened ??= openClients(config));
  const ctx: VertexContext = {
    config,
    plugin: context,
    clients,
    compileIr: (snapshot, extra = {}) =>
      toPipelineSpec(withAcceleratorTypes(snapshot, config), {
        image: config.image,
        projectRoot: config.projectRoot,
        ...(config.entrypointCommand ? { entrypoint: config.entrypointCommand } : {}),
        store,
        ...(config.artifactStorePackage ? { storePackage: config.artifactStorePackage } : {}),
        flavor: "vertex",
        // Vertex runs containers itself: there is no Kubernetes PlatformSpec to write.
        kubernetesPlatform: false,
        ...extra,
      }),
  };
  const pollMs = config.pollSeconds * 1000;

  /**
   * The PipelineJob of a run: `orch-<run id>` for a run orch submitted; for a run a schedule started,
   * Vertex named the job and the run id is the job's id.
   */
  async function readJob(runId: string): Promise<JobView | undefined> {
    const { pipelines, parent } = await clients();
    const ids = [pipelineJobId(runId), ...(/^[a-z0-9][a-z0-9-]{0,127}$/.test(runId) ? [runId] : [])];
    for (const id of ids) {
      const name = `${parent}/pipelineJobs/${id}`;
      try {
        const [job] = await pipelines.getPipelineJob({ name });
        return job as JobView;
      } catch (error) {
        if (httpStatus(error) !== 404) throw vertexError(`reading PipelineJob ${name}`, error, config);
      }
    }
    return undefined;
  }

  async function journalSnapshot(runId: string): Promise<Snapshot | undefined> {
    const raw = await readJson(store, journalKeys.snapshot(runId));
    return raw === undefined ? undefined : parseSnapshot(raw, `run ${runId}`);
  }

  /**
   * Follows the PipelineJob until it ends: tasks that end without their step's record get one at once;
   * at the end the run's record is written from the job. Resolves with how the backend ended the run.
   */
  async function followJob(runId: string, snapshot: Snapshot, signal: AbortSignal): Promise<BackendEnd> {
    let failures = 0;
    for (;;) {
      let job: JobView | undefined;
      try {
        job = await readJob(runId);
        failures = 0;
      } catch (error) {
        // A blip of the API is not the end of the run; five in a row end the follow.
        if (++failures >= 5) return { reason: `following the PipelineJob failed: ${(error as Error).message}` };
      }
      if (job === undefined && failures === 0) return { reason: `the PipelineJob ${pipelineJobId(runId)} no longer exists` };
      if (job) {
        const status = jobStatus(job);
        if (status) {
          const run = await settleFromJob(store, runId, snapshot, job);
          return { ...(status === "stopped" ? { stopped: true } : {}), reason: run?.error?.message ?? `the PipelineJob ended ${status}` };
        }
        await recordEndedTasks(store, runId, snapshot, job);
      }
      if (signal.aborted) return { reason: "no longer followed" };
      await sleep(pollMs, undefined, { signal }).catch(() => {});
    }
  }

  /** The protocol of core's settleRun: record the request, cancel the job, wait for Vertex to end it, write the end. */
  async function stop(runId: string): Promise<void> {
    await settleRun(store, runId, {
      waitSeconds: 5,
      pollMs: Math.min(pollMs, 500),
      stop: async () => {
        const { pipelines } = await clients();
        const job = await readJob(runId);
        if (job?.name && !jobStatus(job)) {
          try {
            await pipelines.cancelPipelineJob({ name: job.name });
          } catch (error) {
            // 400 FAILED_PRECONDITION: the job ended meanwhile; settled below.
            if (httpStatus(error) !== 400) throw vertexError(`cancelling PipelineJob ${job.name}`, error, config);
          }
        }
        const snapshot = await journalSnapshot(runId);
        if (!snapshot) return;
        // Vertex ends a cancelled job once its running tasks are gone; give it a minute.
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const job = await readJob(runId).catch(() => undefined);
          if (!job) return;
          if (jobStatus(job)) {
            await settleFromJob(store, runId, snapshot, job);
            return;
          }
          await sleep(Math.min(pollMs, 500));
        }
      },
    });
  }

  const runtime: Orchestrator = {
    flavor: "vertex",

    async preflight(snapshot) {
      pipelineRoot(config, store.describe());
      ctx.compileIr(snapshot);
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      const gcsOutputDirectory = `${pipelineRoot(config, store.describe())}/${runId}`;
      const { pipelineSpec } = ctx.compileIr(snapshot);
      const { pipelines, parent, project } = await clients();
      // The tasks read the snapshot from the artifact store; Vertex retries a task itself (the IR's
      // retryPolicy), so the runner in the container makes one attempt.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(runnerSnapshot(snapshot)));
      if (submit.resume) await clearStopRequest(store, runId);
      const jobId = pipelineJobId(runId);
      const request = pipelineJob({
        config,
        pipelineSpec: pipelineSpec as unknown as Record<string, unknown>,
        displayName: displayName(snapshot.pipeline.name),
        labels: runLabels(config, snapshot.pipeline.name, { [VERTEX_LABELS.runId]: labelValue(runId) }),
        parameterValues: { ...snapshot.parameters, [RUN_ID_PARAMETER]: runId },
        gcsOutputDirectory,
      });
      const startedAt = new Date().toISOString();
      try {
        await pipelines.createPipelineJob({ parent, pipelineJobId: jobId, pipelineJob: request });
      } catch (error) {
        if (httpStatus(error) === 409) {
          throw new OrchError(submit.resume ? "E_USAGE" : "E_RUN_EXISTS", {
            flavor: "vertex",
            message: `Run ${runId} already has a PipelineJob (${jobId}) in ${parent}; Vertex AI cannot run a job id twice.`,
            hint: "Start a new run (a new run id); a Vertex run cannot be resumed in place.",
            cause: error,
          });
        }
        throw vertexError(`creating PipelineJob ${jobId}`, error, config);
      }
      const url = consoleUrl(project, config.location, jobId);
      const run: RunRecord = {
        runId,
        pipeline: snapshot.pipeline.name,
        pipelineHash: snapshot.pipeline.hash,
        status: "running",
        startedAt,
        ...(context.stackName ? { stack: context.stackName } : {}),
        orchestrator: "vertex",
        parameters: snapshot.parameters,
      };
      // The run's record carries its console page (`orch run show`).
      await writeRunRecord(store, { ...run, url });
      process.stderr.write(`[orch] vertex: PipelineJob ${jobId}: ${url}\n`);
      if (!config.synchronous) {
        return { runId, url, wait: async () => ({ run: (await readRunRecord(store, runId)) ?? run, steps: await readStepRecords(store, runId) }) };
      }
      const following = new AbortController();
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const done = followRun(store, runId, submit.observer, { snapshot, flavor: "vertex", backendEnded: followJob(runId, snapshot, following.signal), pollMs: Math.min(pollMs, 500) }).finally(() => {
        following.abort();
        submit.signal.removeEventListener("abort", onStop);
      });
      done.catch(() => {});
      return { runId, url, wait: () => done };
    },

    async compile(snapshot) {
      const ir = ctx.compileIr(snapshot);
      return { "pipeline.yaml": toKfpYaml(ir), "snapshot.json": serializeSnapshot(snapshot) };
    },

    async status(runId) {
      const run = await readRunRecord(store, runId);
      if (run && run.status !== "running") return run.status;
      const job = await readJob(runId);
      if (!job) return run ? "failed" : undefined;
      const status = jobStatus(job);
      if (!status) return "running";
      const snapshot = await journalSnapshot(runId);
      return snapshot ? ((await settleFromJob(store, runId, snapshot, job))?.status ?? status) : status;
    },

    stop,
    // Vertex keeps task logs in Cloud Logging; the journal has every step's log, streamed by the runner.
    logs: (runId, stepId, options) => readStepLog(store, runId, stepId, options),
    schedule: (snapshot, when) => createSchedule(ctx, snapshot, when),
    deleteSchedule: (id) => deleteSchedule(ctx, id),
    listSchedules: () => listSchedules(ctx),

    async dispose() {
      const current = opened;
      opened = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
  return runtime;
}
