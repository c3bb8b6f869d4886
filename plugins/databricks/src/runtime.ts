/**
 * The databricks runtime: the job settings (job-settings.ts) and the REST client (client.ts) wired to
 * core's orchestrator contract. A run is one `run-now` of the pipeline's job (created, or reset when its
 * settings changed); the submitting process follows the run's journal with core's followRun and asks
 * `runs/get` whether Databricks has ended the run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  OrchError,
  clearStopRequest,
  followRun,
  writeRunRecord,
  journalKeys,
  readJson,
  readRunRecord,
  readStepLog,
  readStepRecord,
  readStepRecords,
  serializeSnapshot,
  settleRun,
  writeJson,
  FINISHED_STEP_STATUSES,
  ORCH_LABELS,
  ORCH_MANAGED_BY,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  type Schedule,
  type Snapshot,
} from "@orch/core/plugin";
import type { JobSettings, Run } from "./api-types.js";
import { DatabricksClient, isNotFound, resolveCredentials, toOrchError } from "./client.js";
import { FLAVOR, type DatabricksOrchestratorConfig } from "./config.js";
import { LAUNCHER_FILE, LAUNCHER_SOURCE } from "./launcher.js";
import { FINISH_TASK, RUN_ID_PARAMETER, SETTINGS_HASH_TAG, tagKey, compileJobSettings, jobName, launcherPath, storeSecretKey } from "./job-settings.js";
import { scheduleSnapshotKey } from "./run-tasks.js";

/** Stands in for the image in `orch pipeline compile` output when the config names none. */
export const IMAGE_NOT_SET = "orch-project-image:set-the-image-config-key";
const TERMINAL_STATES = new Set(["TERMINATED", "SKIPPED", "INTERNAL_ERROR"]);

/** What orch keeps about the Databricks side of a run, next to its journal (this plugin owns the file). */
interface RunLink {
  host: string;
  jobId: number;
  runId: number;
  runPageUrl?: string;
}
const linkKey = (runId: string) => `runs/${runId}/databricks.json`;

export function createOrchestrator(config: DatabricksOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  let client: DatabricksClient | undefined;
  // Credentials are read at the first API call: compile needs none.
  const api = () => (client ??= new DatabricksClient(resolveCredentials(config)));
  let prepared: Promise<void> | undefined;

  const settingsFor = (snapshot: Snapshot, image: string, schedule?: Schedule) =>
    compileJobSettings({ config, snapshot, image, store: store.describe(), storeSecretEnv: store.env?.() ?? {}, ...(schedule ? { schedule } : {}) });

  function requireImage(): string {
    if (config.image) return config.image;
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "image",
      message: "The databricks orchestrator needs an image (Databricks Container Services) with the project, Node.js and orch-entrypoint.",
      hint: "Build and push the project image (e.g. with @orch/docker), then set it: orch orchestrator update NAME --image=REGISTRY/IMAGE:TAG.",
    });
  }

  /** Once per runtime: the launcher in the workspace, the store's credentials in the secret scope. */
  function prepare(): Promise<void> {
    return (prepared ??= (async () => {
      try {
        await api().mkdirs(config.launcherDir);
        await api().importFile(launcherPath(config), LAUNCHER_SOURCE);
        const secrets = store.env?.() ?? {};
        if (Object.keys(secrets).length) {
          await api().ensureScope(config.secretScope);
          for (const [name, value] of Object.entries(secrets)) await api().putSecret(config.secretScope, storeSecretKey(store.describe(), name), value);
        }
      } catch (error) {
        prepared = undefined;
        throw toOrchError(error, "preparing the workspace (launcher, secret scope)");
      }
    })());
  }

  /** Creates the job, or resets it when its settings changed (their hash is a tag); unchanged settings are left alone. */
  async function upsertJob(settings: JobSettings): Promise<number> {
    try {
      const existing = (await api().listJobs(settings.name)).find((job) => job.settings.name === settings.name && job.settings.tags?.[tagKey(ORCH_LABELS.managedBy)] === ORCH_MANAGED_BY);
      if (!existing) return (await api().createJob(settings)).job_id;
      if (existing.settings.tags?.[SETTINGS_HASH_TAG] !== settings.tags[SETTINGS_HASH_TAG]) await api().resetJob(existing.job_id, settings);
      return existing.job_id;
    } catch (error) {
      throw toOrchError(error, `creating job ${settings.name}`);
    }
  }

  async function link(runId: string): Promise<RunLink | undefined> {
    const stored = await readJson<RunLink>(store, linkKey(runId));
    if (stored) return stored;
    // A run the job's schedule started: its id says which Databricks run it is.
    const match = /^databricks-(\d+)$/.exec(runId);
    return match ? { host: api().host, jobId: 0, runId: Number(match[1]) } : undefined;
  }

  /** The run's page in the workspace (Databricks' own `run_page_url` when it gave one). */
  function runPageUrl(target: RunLink): string | undefined {
    // A scheduled run's link knows no job id; its page is then not guessed.
    return target.runPageUrl ?? (target.jobId ? `${target.host}/jobs/${target.jobId}/runs/${target.runId}` : undefined);
  }

  /** Polls runs/get until Databricks has ended the run. */
  async function databricksEnded(dbRunId: number, stopped: AbortSignal): Promise<BackendEnd> {
    for (;;) {
      let run: Run;
      try {
        run = await api().getRun(dbRunId);
      } catch (error) {
        if (isNotFound(error)) return { reason: `Databricks run ${dbRunId} no longer exists` };
        throw toOrchError(error, `reading run ${dbRunId}`);
      }
      if (TERMINAL_STATES.has(run.state.life_cycle_state)) {
        const canceled = run.state.result_state === "CANCELED" || stopped.aborted;
        return { ...(canceled ? { stopped: true } : {}), reason: `Databricks run ${dbRunId} ended ${run.state.life_cycle_state}${run.state.result_state ? `/${run.state.result_state}` : ""}${run.state.state_message ? `: ${run.state.state_message}` : ""}` };
      }
      await sleep(config.pollSeconds * 1000);
    }
  }

  /**
   * `orch run resume`: Databricks' repair run re-runs the tasks of the ended run that did not succeed
   * (and orch.finish), in the same Databricks run; the steps that succeeded are kept. Undefined when the
   * run has no Databricks run to repair (then it starts anew).
   */
  async function repair(runId: string): Promise<{ run_id: number } | undefined> {
    const previous = await link(runId);
    if (!previous) return undefined;
    try {
      const run = await api().getRun(previous.runId);
      if (!TERMINAL_STATES.has(run.state.life_cycle_state)) {
        throw new OrchError("E_RUN_LOCKED", { flavor: FLAVOR, message: `Run ${runId} (Databricks run ${previous.runId}) is still ${run.state.life_cycle_state}.`, hint: `Wait for it to end, or stop it: orch run stop ${runId}.` });
      }
      const latest = new Map<string, string | undefined>();
      for (const task of [...(run.tasks ?? [])].sort((a, b) => (a.attempt_number ?? 0) - (b.attempt_number ?? 0))) latest.set(task.task_key, task.state.result_state);
      const rerun = [...latest].filter(([key, result]) => result !== "SUCCESS" || key === FINISH_TASK).map(([key]) => key);
      await clearStopRequest(store, runId);
      const record = await readRunRecord(store, runId);
      if (record && record.status !== "running") {
        const { finishedAt: _finished, error: _error, ...rest } = record;
        await writeRunRecord(store, { ...rest, status: "running" });
      }
      await api().repairRun(previous.runId, rerun);
      return { run_id: previous.runId };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toOrchError(error, `repairing run ${previous.runId}`);
    }
  }

  async function stop(runId: string): Promise<void> {
    const target = await link(runId);
    await settleRun(store, runId, {
      stop: async () => {
        if (!target) return;
        try {
          await api().cancelRun(target.runId);
        } catch (error) {
          if (!isNotFound(error)) throw toOrchError(error, `cancelling run ${target.runId}`);
        }
      },
    });
  }

  return {
    flavor: FLAVOR,

    async preflight(snapshot) {
      settingsFor(snapshot, config.image ?? IMAGE_NOT_SET);
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      const settings = settingsFor(snapshot, requireImage());
      await prepare();
      const jobId = await upsertJob(settings);
      // The tasks read the snapshot from the store; the start task records the run.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      // The run is recorded here, where its stack is known; the start task records only runs the job's scheduler starts.
      if (!submit.resume && !(await readRunRecord(store, runId))) {
        await writeRunRecord(store, {
          runId,
          pipeline: snapshot.pipeline.name,
          pipelineHash: snapshot.pipeline.hash,
          status: "running",
          startedAt: new Date().toISOString(),
          ...(context.stackName ? { stack: context.stackName } : {}),
          orchestrator: FLAVOR,
          parameters: snapshot.parameters,
        });
      }
      let started: { run_id: number } | undefined;
      if (submit.resume) started = await repair(runId);
      if (!started) {
        try {
          // The idempotency token is the run id: a submit retried after a lost answer does not start a second run.
          started = await api().runNow(jobId, { [RUN_ID_PARAMETER]: runId }, runId);
        } catch (error) {
          throw toOrchError(error, `starting job ${settings.name}`);
        }
      }
      const run = await api().getRun(started.run_id).catch(() => undefined);
      const runLink: RunLink = { host: api().host, jobId, runId: started.run_id, ...(run?.run_page_url ? { runPageUrl: run.run_page_url } : {}) };
      await writeJson(store, linkKey(runId), runLink);
      const url = runPageUrl(runLink);
      process.stderr.write(`[orch] databricks: run ${runId} is Databricks run ${started.run_id}${url ? `: ${url}` : ""}\n`);
      if (!config.synchronous) {
        return {
          runId,
          url,
          async wait() {
            const record =
              (await readRunRecord(store, runId)) ??
              ({ runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), parameters: snapshot.parameters, orchestrator: FLAVOR } as RunRecord);
            return { run: record, steps: await readStepRecords(store, runId) };
          },
        };
      }
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const done = followRun(store, runId, submit.observer, { snapshot, flavor: FLAVOR, backendEnded: databricksEnded(started.run_id, submit.signal) }).finally(() =>
        submit.signal.removeEventListener("abort", onStop),
      );
      done.catch(() => {});
      return { runId, url, wait: () => done };
    },

    async compile(snapshot) {
      const image = config.image ?? IMAGE_NOT_SET;
      const files: Record<string, string> = {
        "job-settings.json": `${JSON.stringify(settingsFor(snapshot, image), null, 2)}\n`,
        [LAUNCHER_FILE]: LAUNCHER_SOURCE,
        "snapshot.json": serializeSnapshot(snapshot),
      };
      if (snapshot.pipeline.schedule) files["scheduled-job-settings.json"] = `${JSON.stringify(settingsFor(snapshot, image, snapshot.pipeline.schedule), null, 2)}\n`;
      return files;
    },

    async status(runId) {
      const run = await readRunRecord(store, runId);
      if (run && run.status !== "running") return run.status;
      const target = await link(runId);
      if (!target) return run?.status;
      try {
        const state = (await api().getRun(target.runId)).state;
        if (!TERMINAL_STATES.has(state.life_cycle_state)) return "running";
      } catch (error) {
        if (!isNotFound(error)) throw toOrchError(error, `reading run ${target.runId}`);
      }
      // Databricks ended it: the finish task recorded the outcome, or nothing will.
      const latest = (await readRunRecord(store, runId))?.status;
      return latest && latest !== "running" ? latest : "failed";
    },

    stop,

    async runUrl(runId) {
      const target = await link(runId);
      return target ? runPageUrl(target) : undefined;
    },

    async *logs(runId, stepId, options = {}) {
      const target = await link(runId);
      const seen = new Set<string>();
      if (target) {
        const printed = new Map<number, number>();
        for (;;) {
          let run: Run;
          try {
            run = await api().getRun(target.runId);
          } catch (error) {
            if (isNotFound(error)) break;
            throw toOrchError(error, `reading run ${target.runId}`);
          }
          const attempts = (run.tasks ?? []).filter((task) => task.task_key === stepId).sort((a, b) => (a.attempt_number ?? 0) - (b.attempt_number ?? 0));
          for (const [index, task] of attempts.entries()) {
            const output = await api().getRunOutput(task.run_id).catch(() => undefined);
            const lines = (output?.logs ?? "").split("\n").filter(Boolean);
            const from = printed.get(task.run_id);
            if (from === undefined) yield `[orch] ── attempt ${index + 1}: task run ${task.run_id} (${task.state.life_cycle_state}${task.state.result_state ? `/${task.state.result_state}` : ""}) ──`;
            for (const line of lines.slice(from ?? 0)) {
              seen.add(line);
              yield line;
            }
            printed.set(task.run_id, lines.length);
            if (output?.error && from === undefined && TERMINAL_STATES.has(task.state.life_cycle_state)) yield `[orch] ${output.error}`;
          }
          const stepDone = FINISHED_STEP_STATUSES.has((await readStepRecord(store, runId, stepId))?.status ?? "pending");
          if (!options.follow || stepDone || TERMINAL_STATES.has(run.state.life_cycle_state)) break;
          await sleep(1000);
        }
      }
      let first = true;
      for await (const line of readStepLog(store, runId, stepId, { skip: seen })) {
        if (first && seen.size) yield "[orch] ── step log (journal) ──";
        first = false;
        yield line;
      }
    },

    async schedule(snapshot, when) {
      const settings = settingsFor(snapshot, requireImage(), when);
      await prepare();
      await store.write(scheduleSnapshotKey(settings.name), serializeSnapshot(snapshot));
      return { id: String(await upsertJob(settings)) };
    },

    async deleteSchedule(id) {
      const jobId = Number(id);
      const missing = () => new OrchError("E_USAGE", { flavor: FLAVOR, message: `No orch schedule "${id}" (a Databricks job id) at ${api().host}.`, hint: "List schedules with orch schedule list." });
      if (!Number.isInteger(jobId) || jobId <= 0) throw missing();
      try {
        const job = await api().getJob(jobId);
        if (job.settings.tags?.[tagKey(ORCH_LABELS.managedBy)] !== ORCH_MANAGED_BY || !job.settings.schedule) throw missing();
        await api().deleteJob(jobId);
        await store.delete(`schedules/${job.settings.name}/`);
      } catch (error) {
        if (isNotFound(error)) throw missing();
        throw toOrchError(error, `deleting job ${id}`);
      }
    },

    async listSchedules() {
      try {
        return (await api().listJobs())
          .filter((job) => job.settings.tags?.[tagKey(ORCH_LABELS.managedBy)] === ORCH_MANAGED_BY && job.settings.schedule)
          .map((job) => ({
            id: String(job.job_id),
            pipeline: job.settings.tags[tagKey(ORCH_LABELS.pipeline)] ?? job.settings.name,
            schedule: `${job.settings.schedule!.quartz_cron_expression} (${job.settings.schedule!.timezone_id})${job.settings.schedule!.pause_status === "PAUSED" ? " paused" : ""}`,
          }));
      } catch (error) {
        throw toOrchError(error, "listing jobs");
      }
    },
  };
}
