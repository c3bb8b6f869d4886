/**
 * The azureml runtime: a run is one Azure ML pipeline job (pipeline-job.ts) whose command nodes each run
 * `orch-entrypoint step`. The submitting process writes the run's record, creates the job (idempotent by
 * the snapshot's hash), follows the steps live through the journal and the child jobs, and writes the
 * run's end when the pipeline job has finished. Stop cancels the pipeline job (core's stop protocol).
 * A schedule's firings are pipeline jobs Azure ML names: their setup node records the job
 * (scheduled-runs.ts), and status / stop / the studio link find it there.
 */
import {
  OrchError,
  followRun,
  journalKeys,
  readRunRecord,
  readStepLog,
  readStepRecords,
  serializeSnapshot,
  settleRun,
  clearStopRequest,
  parseSnapshot,
  readJson,
  writeRunRecord,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  type Schedule,
  type Snapshot,
  buildStackImage,
  IMAGE_BUILT_AT_SUBMIT,
} from "@orch/core/plugin";
import type { JobBase } from "@azure/arm-machinelearning";
import { AzureMLClient, httpStatus, type ClientOverrides } from "./client.js";
import { FLAVOR, type AzureMLOrchestratorConfig } from "./config.js";
import { TAGS, environmentVersion, pipelineJob, pipelineJobName, snapshotHash, workspaceId, type PipelineJobBody } from "./pipeline-job.js";
import { SCHEDULE_TAG, describeTrigger, scheduleBody, scheduleName } from "./schedules.js";
import { jobNameOf, scheduleSnapshotKey } from "./scheduled-runs.js";
import { FINISHED_JOB_STATUSES, finishRun, runStatusOf } from "./status.js";

type JobProps = { status?: string; tags?: Record<string, string>; displayName?: string; parentJobName?: string };
const props = (job: JobBase | undefined) => (job?.properties ?? {}) as JobProps;

/** The studio page of a job. */
export function studioUrl(config: AzureMLOrchestratorConfig, jobName: string): string {
  return `${config.studioUrl.replace(/\/$/, "")}/runs/${encodeURIComponent(jobName)}?wsid=${encodeURIComponent(workspaceId(config))}`;
}

/** The azureml orchestrator runtime. `overrides` hands in a credential or TLS settings (tests, embedding apps). */
export function createOrchestrator(config: AzureMLOrchestratorConfig, context: PluginContext, overrides: ClientOverrides = {}): Orchestrator {
  const store = context.artifactStore;
  const client = new AzureMLClient(config, overrides);
  let builtImage: string | undefined;
  const image = () => config.image ?? builtImage ?? IMAGE_BUILT_AT_SUBMIT;
  const body = (snapshot: Snapshot, runId: string): PipelineJobBody => pipelineJob({ config, snapshot, runId, image: image(), store });

  async function ensureImage(): Promise<void> {
    if (config.image || builtImage) return;
    if (!config.build) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: FLAVOR,
        key: "image",
        message: "The azureml orchestrator needs the project image: set image, or build (to build it with @orch/docker and push it to the stack's container registry).",
        hint: "orch stack update: set the azureml orchestrator's image to an image with the project and orch-entrypoint, e.g. myacr.azurecr.io/training:1.0.",
      });
    }
    builtImage = await buildStackImage({ flavor: FLAVOR, key: "build", puller: "Azure ML compute", baseImage: config.build.baseImage, imageName: config.build.imageName, context, loadDocker: () => import("@orch/docker") });
  }

  /** Refuses a run id whose pipeline job was made from another snapshot (a retried submit of the same one is fine). */
  function assertSameSnapshot(existing: JobBase | undefined, job: PipelineJobBody, name: string, runId: string): void {
    if (!existing || props(existing).tags?.[TAGS.snapshotHash] === job.properties.tags[TAGS.snapshotHash]) return;
    throw new OrchError("E_RUN_EXISTS", {
      flavor: FLAVOR,
      message: `Run ${runId} already has an Azure ML pipeline job (${name}) made from another snapshot.`,
      hint: "Use a new run id.",
    });
  }

  /** Creates the pipeline job; a 409 (a concurrent or retried create) adopts the job when it is the same. */
  async function create(name: string, job: PipelineJobBody, runId: string): Promise<void> {
    try {
      await client.createJob(name, job);
    } catch (error) {
      if (httpStatus(error) === 409) {
        const now = await client.getJob(name);
        if (now) return assertSameSnapshot(now, job, name, runId);
      }
      throw client.error(`creating pipeline job ${name}`, error);
    }
  }

  /** Child job status by step id (the node tag names the step). */
  async function childStatuses(name: string): Promise<Map<string, string>> {
    const statuses = new Map<string, string>();
    for (const child of await client.listChildJobs(name)) {
      const p = props(child);
      const stepId = p.tags?.[TAGS.stepId] ?? p.displayName;
      if (stepId && p.status) statuses.set(stepId, p.status);
    }
    return statuses;
  }

  /** Polls the pipeline job until it has finished, then writes the run's end into the journal. */
  async function pipelineJobEnded(snapshot: Snapshot, runId: string, signal: AbortSignal): Promise<BackendEnd> {
    const name = pipelineJobName(runId);
    for (;;) {
      const job = await client.getJob(name);
      const status = props(job).status;
      if (!job) return { reason: `its Azure ML pipeline job ${name} no longer exists` };
      if (status && FINISHED_JOB_STATUSES.has(status)) {
        await finishRun(store, snapshot, runId, status, await childStatuses(name));
        return { ...(status === "Canceled" ? { stopped: true } : {}), reason: `its Azure ML pipeline job ended ${status}` };
      }
      if (signal.aborted) return { stopped: true };
      await new Promise((resolve) => setTimeout(resolve, config.pollSeconds * 1000));
    }
  }

  async function stop(runId: string): Promise<void> {
    const name = await jobNameOf(store, runId);
    await settleRun(store, runId, {
      stop: async () => {
        await client.cancelJob(name);
        // The pipeline job is cancelled now: its end goes into the journal here too, so a run whose
        // submitting process is gone (synchronous: false, a closed terminal) does not stay "running".
        const snapshot = await readJson(store, journalKeys.snapshot(runId));
        const job = await client.getJob(name);
        const status = props(job).status;
        if (snapshot && status && FINISHED_JOB_STATUSES.has(status)) await finishRun(store, parseSnapshot(snapshot, `run ${runId}`), runId, status, await childStatuses(name));
      },
    });
  }

  const runtime: Orchestrator = {
    flavor: FLAVOR,

    async preflight(snapshot) {
      // Builds the whole job (settings, VM sizes, node names) so a bad setting fails before anything is created.
      body(snapshot, "preflight");
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      body(snapshot, runId); // a bad setting fails before an image is built
      await ensureImage();
      const final = body(snapshot, runId);
      const name = pipelineJobName(runId);
      // Checked before anything is written: a refused submit must not touch the existing run's journal.
      const existing = await client.getJob(name);
      assertSameSnapshot(existing, final, name, runId);
      // Every command job reads the snapshot from the artifact store.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      if (submit.resume) await clearStopRequest(store, runId);
      if (!(await readRunRecord(store, runId)) || (submit.resume && !existing)) {
        const run: RunRecord = {
          runId,
          pipeline: snapshot.pipeline.name,
          pipelineHash: snapshot.pipeline.hash,
          status: "running",
          startedAt: new Date().toISOString(),
          ...(context.stackName ? { stack: context.stackName } : {}),
          orchestrator: FLAVOR,
          parameters: snapshot.parameters,
        };
        await writeRunRecord(store, run);
      }
      if (!existing) {
        try {
          await client.ensureEnvironment(config.environmentName, environmentVersion(image()), image());
          await create(name, final, runId);
        } catch (error) {
          // Nothing runs the run: it must not stay "running".
          await writeRunRecord(store, { ...(await readRunRecord(store, runId))!, status: "failed", finishedAt: new Date().toISOString(), error: { code: "E_BACKEND_UNAVAILABLE", message: (error as Error).message } });
          throw error;
        }
      }
      const url = studioUrl(config, name);
      if (!config.synchronous) {
        return {
          runId,
          url,
          async wait() {
            return { run: (await readRunRecord(store, runId))!, steps: await readStepRecords(store, runId) };
          },
        };
      }
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const follow = new AbortController();
      const done = followRun(store, runId, submit.observer, {
        snapshot,
        flavor: FLAVOR,
        backendEnded: pipelineJobEnded(snapshot, runId, follow.signal),
      }).finally(() => {
        submit.signal.removeEventListener("abort", onStop);
        follow.abort();
      });
      done.catch(() => {});
      return { runId, url, wait: () => done };
    },

    async compile(snapshot) {
      const runId = `compiled-${snapshot.pipeline.hash.slice(0, 8)}`;
      const files: Record<string, string> = {};
      const job = body(snapshot, runId);
      files["pipeline-job.json"] = `${JSON.stringify(job, null, 2)}\n`;
      const when = snapshot.pipeline.schedule;
      if (when) {
        const scheduled = pipelineJob({ config, snapshot, runId, image: image(), store, scheduled: { snapshotKey: scheduleSnapshotKey(scheduleName(snapshot.pipeline.name, when)) } });
        files["schedule.json"] = `${JSON.stringify(scheduleBody(snapshot, when, scheduled.properties), null, 2)}\n`;
      }
      files["snapshot.json"] = serializeSnapshot(snapshot);
      return files;
    },

    async status(runId) {
      const run = await readRunRecord(store, runId);
      if (run && run.status !== "running") return run.status;
      const name = await jobNameOf(store, runId);
      const job = await client.getJob(name);
      if (!job) return run ? "failed" : undefined;
      const jobStatus = props(job).status;
      // A finished job whose run nobody followed (synchronous: false), or a scheduled firing whose
      // finalize node never ran (Azure ML runs no node after a failed one): its end goes into the journal now.
      const snapshot = run && jobStatus && FINISHED_JOB_STATUSES.has(jobStatus) ? await readJson(store, journalKeys.snapshot(runId)) : undefined;
      if (snapshot) return (await finishRun(store, parseSnapshot(snapshot, `run ${runId}`), runId, jobStatus!, await childStatuses(name)))?.status;
      return runStatusOf(jobStatus);
    },

    runUrl: async (runId) => studioUrl(config, await jobNameOf(store, runId)),

    stop,

    async *logs(runId, stepId, options = {}) {
      // Each command job's output is its step log: the runner echoes the step's lines to the job's
      // std_log.txt and writes them to the journal, which is what is read here (one place, any store).
      yield* readStepLog(store, runId, stepId, options.follow ? { follow: true } : {});
    },

    async schedule(snapshot, when: Schedule) {
      await ensureImage();
      const name = scheduleName(snapshot.pipeline.name, when);
      const snapshotKey = scheduleSnapshotKey(name);
      // Each firing is its own run, named by Azure ML: its setup node copies the snapshot from snapshotKey.
      // Built (and refused) before anything is written or created.
      const job = pipelineJob({ config, snapshot, runId: name, image: image(), store, scheduled: { snapshotKey, ...(context.stackName ? { stack: context.stackName } : {}) } });
      const schedule = scheduleBody(snapshot, when, job.properties);
      await store.write(snapshotKey, serializeSnapshot(snapshot));
      await client.ensureEnvironment(config.environmentName, environmentVersion(image()), image());
      await client.putSchedule(name, schedule);
      return { id: name };
    },

    async deleteSchedule(id) {
      if (!(await client.deleteSchedule(id))) {
        throw new OrchError("E_USAGE", { flavor: FLAVOR, message: `No schedule "${id}" in Azure ML workspace ${config.workspace}.`, hint: "List schedules with orch schedule list." });
      }
    },

    async listSchedules() {
      return (await client.listSchedules())
        .filter((s) => s.properties.tags?.[SCHEDULE_TAG])
        .map((s) => ({ id: s.name ?? "", pipeline: s.properties.tags?.[SCHEDULE_TAG] ?? "", schedule: describeTrigger(s) }));
    },
  };
  return runtime;
}
