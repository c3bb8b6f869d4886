/**
 * The airflow runtime: places the DAG file, waits for Airflow to parse it, triggers a DAG run named
 * after the orch run, and follows it — the steps' records through the journal, the run's end through
 * the DAG run's state. `orch run stop` marks the DAG run failed (Airflow kills its running tasks).
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  COMPLETED_STEP_STATUSES,
  FINISHED_STEP_STATUSES,
  OrchError,
  clearStopRequest,
  followRun,
  journalKeys,
  parseSnapshot,
  readJson,
  readRunRecord,
  readStepLog,
  readStepRecords,
  readStopRequest,
  serializeSnapshot,
  settleRun,
  writeRunRecord,
  writeStepRecord,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  type Schedule,
  type Snapshot,
  type StepRecord,
} from "@orch/core/plugin";
import { AirflowClient, type AirflowDagRun, type AirflowTaskInstance } from "./client.js";
import type { AirflowOrchestratorConfig } from "./config.js";
import { openDagsFolder } from "./dags-folder.js";
import { dagIdOf, renderDagFile, SCHEDULED_SUFFIX, type DagFile } from "./dag-file.js";
import { dagRunKey, scheduleSnapshotKey, type DagRunRef } from "./scheduled-runs.js";

const FLAVOR = "airflow";
/** Task instance states after which the task will not run again in this DAG run. */
const TASK_DONE = new Set(["success", "failed", "upstream_failed", "skipped", "removed"]);

export function createOrchestrator(config: AirflowOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  const client = new AirflowClient(config);
  const dags = openDagsFolder(config, context.projectRoot);
  const dagStore = { describe: () => store.describe(), envNames: Object.keys(store.env?.() ?? {}) };
  const pollMs = config.pollSeconds * 1000;
  const unscheduled = (snapshot: Snapshot): Snapshot => {
    const { schedule: _schedule, ...pipeline } = snapshot.pipeline;
    return { ...snapshot, pipeline };
  };

  /** Places the file and waits until Airflow has parsed this very version of it (its digest is in the DAG's description). */
  async function place(file: DagFile, signal?: AbortSignal): Promise<void> {
    await dags.put(file.fileName, file.source);
    const deadline = Date.now() + config.parseTimeoutSeconds * 1000;
    for (;;) {
      signal?.throwIfAborted();
      const dag = await client.getDag(file.dagId);
      if (dag?.description?.includes(file.digest)) {
        if (dag.is_paused) await client.setPaused(file.dagId, false);
        return;
      }
      if (Date.now() >= deadline) {
        throw new OrchError("E_BACKEND_UNAVAILABLE", {
          message: `Airflow did not ${dag ? "pick up the new version of" : "parse"} DAG ${file.dagId} (${file.fileName} in ${dags.location}) within ${config.parseTimeoutSeconds}s.`,
          hint: "Check that dagsFolder is the folder the Airflow deployment reads DAGs from, and the DAG processor's log for import errors (airflow dags list-import-errors); raise parseTimeoutSeconds for slow deployments.",
        });
      }
      await sleep(Math.min(pollMs, 1000));
    }
  }

  /** The DAG run of an orch run: recorded by a scheduled run's first task, else the submitted run's DAG and the run id itself. */
  async function locate(runId: string): Promise<DagRunRef> {
    const ref = await readJson<DagRunRef>(store, dagRunKey(runId));
    if (ref?.dagId && ref.dagRunId) return ref;
    const raw = await readJson(store, journalKeys.snapshot(runId));
    if (raw === undefined) throw new OrchError("E_RUN_NOT_FOUND", { message: `Run ${runId} has no snapshot in the artifact store at ${store.uri}.`, hint: "Check the run id (orch run list)." });
    return { dagId: dagIdOf(config, parseSnapshot(raw, `run ${runId}`)), dagRunId: runId };
  }

  /**
   * Writes the run's end from the DAG run's: steps whose task ended without a record of its own (the
   * pod or container failed before the step ran, an upstream failed, the run was stopped) get one,
   * then the run record. A run someone already finished is left alone.
   */
  async function finish({ dagId, dagRunId }: DagRunRef, runId: string, dagRun: AirflowDagRun | undefined): Promise<RunRecord | undefined> {
    const current = await readRunRecord(store, runId);
    if (current && current.status !== "running") return current;
    const raw = await readJson(store, journalKeys.snapshot(runId));
    const snapshot = raw === undefined ? undefined : parseSnapshot(raw, `run ${runId}`);
    const stopped = Boolean(await readStopRequest(store, runId));
    const instances = new Map((await client.taskInstances(dagId, dagRunId).catch(() => [] as AirflowTaskInstance[])).map((ti) => [ti.task_id, ti]));
    const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
    const finishedAt = new Date().toISOString();
    for (const stepId of snapshot?.order ?? []) {
      const record = records.get(stepId);
      if (record && FINISHED_STEP_STATUSES.has(record.status)) continue;
      const ti = instances.get(stepId);
      const state = ti?.state ?? "none";
      const status: StepRecord["status"] = stopped ? "stopped" : state === "failed" ? "failed" : "skipped";
      const message = stopped
        ? "the run was stopped"
        : state === "failed"
          ? `Airflow task ${stepId} failed (try ${ti?.try_number ?? 1}) before the step recorded an end: see orch run logs ${runId} ${stepId}`
          : `not run: Airflow task ${stepId} ended ${state === "none" ? "without running" : state}`;
      const next: StepRecord = { ...(record ?? { runId, stepId, name: snapshot!.steps[stepId]!.name, attempts: 0, outputs: {}, metadata: {} }), status, finishedAt, error: { ...(status === "failed" ? { code: "E_STEP_FAILED" } : {}), message } };
      records.set(stepId, next);
      await writeStepRecord(store, next);
    }
    const all = [...records.values()];
    const failedStep = snapshot?.order.map((id) => records.get(id)).find((r) => r?.status === "failed");
    const succeeded = !stopped && dagRun?.state === "success" && (snapshot?.order ?? []).every((id) => COMPLETED_STEP_STATUSES.has(records.get(id)?.status ?? "pending"));
    const base: RunRecord = current ?? {
      runId,
      pipeline: snapshot?.pipeline.name ?? dagId,
      pipelineHash: snapshot?.pipeline.hash ?? "",
      status: "running",
      startedAt: dagRun?.start_date ?? finishedAt,
      parameters: snapshot?.parameters ?? {},
      orchestrator: FLAVOR,
    };
    const run: RunRecord = {
      ...base,
      status: stopped ? "stopped" : succeeded ? "succeeded" : "failed",
      finishedAt,
      ...(stopped
        ? { error: { code: "E_CANCELLED", message: `Run ${runId} was stopped (DAG run ${runId} of ${dagId} marked failed).` } }
        : succeeded
          ? {}
          : {
              error: {
                code: "E_STEP_FAILED",
                message: failedStep
                  ? `Step "${failedStep.stepId}" failed: ${failedStep.error?.message ?? "see its log"}`
                  : `DAG run ${runId} of ${dagId} ended ${dagRun?.state ?? "unknown to Airflow"}${all.length ? "" : " before any step ran"}.`,
              },
            }),
    };
    await writeRunRecord(store, run);
    return run;
  }

  /** Polls the DAG run until Airflow says it ended, then records the end (the journal may still say running). */
  async function dagRunEnded(dagId: string, runId: string, signal: AbortSignal): Promise<BackendEnd> {
    const ref = { dagId, dagRunId: runId };
    for (;;) {
      if (signal.aborted) return { stopped: true };
      const dagRun = await client.getDagRun(dagId, runId).catch((error: unknown) => (error instanceof OrchError && error.code === "E_BACKEND_UNAVAILABLE" ? "unreachable" : Promise.reject(error)));
      if (dagRun === undefined) {
        await finish(ref, runId, undefined);
        return { reason: `Airflow has no DAG run ${runId} of ${dagId} any more` };
      }
      if (dagRun !== "unreachable" && (dagRun.state === "success" || dagRun.state === "failed")) {
        const run = await finish(ref, runId, dagRun);
        return { ...(run?.status === "stopped" ? { stopped: true } : {}), reason: `DAG run ${runId} ended ${dagRun.state}` };
      }
      await sleep(pollMs);
    }
  }

  async function stop(runId: string): Promise<void> {
    const ref = await locate(runId);
    await settleRun(store, runId, {
      stop: async () => {
        const dagRun = await client.getDagRun(ref.dagId, ref.dagRunId);
        if (dagRun && (dagRun.state === "queued" || dagRun.state === "running")) await client.failDagRun(ref.dagId, ref.dagRunId);
        // Airflow has ended the DAG run (its running tasks get SIGTERM): record the end now rather than
        // wait for a follower that may not exist (an asynchronous submit).
        await finish(ref, runId, await client.getDagRun(ref.dagId, ref.dagRunId));
      },
    });
  }

  return {
    flavor: FLAVOR,

    async preflight(snapshot) {
      renderDagFile(config, unscheduled(snapshot), dagStore);
    },

    async compile(snapshot) {
      const files: Record<string, string> = {};
      const file = renderDagFile(config, unscheduled(snapshot), dagStore);
      files[file.fileName] = file.source;
      if (snapshot.pipeline.schedule) {
        const scheduled = renderDagFile(config, snapshot, dagStore, { scheduled: true });
        files[scheduled.fileName] = scheduled.source;
      }
      files["snapshot.json"] = serializeSnapshot(snapshot);
      return files;
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      if (submit.resume) {
        throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
          message: `The airflow orchestrator cannot resume run ${runId}: Airflow keeps one DAG run per id.`,
          hint: `Clear the failed tasks of DAG run ${runId} in Airflow (they re-run in the same run), or start a new run.`,
        });
      }
      const file = renderDagFile(config, unscheduled(snapshot), dagStore);
      // The steps read the snapshot from the store under the DAG run's id.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      await clearStopRequest(store, runId);
      await place(file, submit.signal);
      await client.triggerDagRun(file.dagId, runId, { orch_run_id: runId, parameters: snapshot.parameters });
      const run: RunRecord = {
        runId,
        pipeline: snapshot.pipeline.name,
        pipelineHash: snapshot.pipeline.hash,
        status: "running",
        startedAt: new Date().toISOString(),
        parameters: snapshot.parameters,
        orchestrator: FLAVOR,
        ...(context.stackName ? { stack: context.stackName } : {}),
      };
      await writeRunRecord(store, run);
      const url = `${config.host.replace(/\/+$/, "")}/dags/${encodeURIComponent(file.dagId)}/${config.airflowVersion === 3 ? "runs" : "grid?dag_run_id="}${config.airflowVersion === 3 ? `/${encodeURIComponent(runId)}` : encodeURIComponent(runId)}`;
      if (!config.synchronous) {
        return { runId, url, wait: async () => ({ run: (await readRunRecord(store, runId)) ?? run, steps: await readStepRecords(store, runId) }) };
      }
      const following = new AbortController();
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const done = followRun(store, runId, submit.observer, { snapshot, flavor: FLAVOR, pollMs: Math.min(pollMs, 500), backendEnded: dagRunEnded(file.dagId, runId, following.signal) }).finally(() => {
        following.abort();
        submit.signal.removeEventListener("abort", onStop);
      });
      done.catch(() => {});
      return { runId, url, wait: () => done };
    },

    async status(runId) {
      const run = await readRunRecord(store, runId);
      if (run && run.status !== "running") return run.status;
      const ref = await locate(runId).catch(() => undefined);
      if (!ref) return run?.status;
      const dagRun = await client.getDagRun(ref.dagId, ref.dagRunId);
      if (dagRun && dagRun.state !== "success" && dagRun.state !== "failed") return "running";
      return (await finish(ref, runId, dagRun))?.status;
    },

    stop,

    async *logs(runId, stepId, options = {}) {
      const { dagId, dagRunId } = await locate(runId);
      const seen = new Set<string>();
      let printedTries = 0;
      for (;;) {
        let ti: AirflowTaskInstance | undefined;
        try {
          ti = (await client.taskInstances(dagId, dagRunId)).find((t) => t.task_id === stepId);
        } catch (error) {
          yield `[orch] Airflow's task logs are unavailable (${(error as Error).message}); the step log from the journal follows`;
          break;
        }
        const done = !ti || TASK_DONE.has(ti.state ?? "") || (await readRunRecord(store, runId))?.status !== "running";
        // Tries that have ended (all of them once the task is done) are printed whole, once.
        const last = ti ? (done ? ti.try_number : ti.try_number - 1) : 0;
        for (let tryNumber = printedTries + 1; tryNumber <= last; tryNumber++) {
          yield `[orch] ── try ${tryNumber}: Airflow task ${stepId} ──`;
          const lines = await client.taskLog(dagId, dagRunId, stepId, tryNumber).catch((error: Error) => [`[orch] no log of try ${tryNumber}: ${error.message}`]);
          for (const line of lines) {
            seen.add(line);
            yield line;
          }
          printedTries = tryNumber;
        }
        if (!options.follow || done) break;
        await sleep(pollMs);
      }
      let first = true;
      for await (const line of readStepLog(store, runId, stepId, { skip: seen })) {
        if (first && printedTries) yield "[orch] ── step log (journal) ──";
        first = false;
        yield line;
      }
    },

    async schedule(snapshot: Snapshot, when: Schedule) {
      const file = renderDagFile(config, { ...snapshot, pipeline: { ...snapshot.pipeline, schedule: when } }, dagStore, { scheduled: true });
      // Each scheduled DAG run stores this snapshot under its own run id before its steps run.
      await store.write(scheduleSnapshotKey(file.dagId), serializeSnapshot(snapshot));
      await place(file);
      return { id: file.dagId };
    },

    async deleteSchedule(id: string) {
      if (!id.endsWith(SCHEDULED_SUFFIX)) throw new OrchError("E_USAGE", { message: `"${id}" is not a schedule of the airflow orchestrator (its DAG ids end in ${SCHEDULED_SUFFIX}).`, hint: "See orch schedule list." });
      // Paused first, so no run starts while the file is being removed and Airflow forgets the DAG.
      await client.setPaused(id, true).catch(() => {});
      await dags.remove(`${id}.py`);
      await client.deleteDag(id);
      await store.delete(scheduleSnapshotKey(id)).catch(() => {});
    },

    async listSchedules() {
      const found = await client.listDags("orch");
      return found
        .filter((dag) => dag.dag_id.startsWith(config.dagIdPrefix) && dag.dag_id.endsWith(SCHEDULED_SUFFIX) && !dag.is_paused)
        .map((dag) => ({ id: dag.dag_id, pipeline: dag.dag_id.slice(config.dagIdPrefix.length, -SCHEDULED_SUFFIX.length), schedule: dag.description ?? "" }));
    },

    async dispose() {},
  };
}
