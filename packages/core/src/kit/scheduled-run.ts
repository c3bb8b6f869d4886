/**
 * The first and last task of a run the backend's own scheduler started (a KFP recurring run, a Vertex
 * schedule, an Azure ML schedule): the backend names that run, so orch cannot write its journal
 * beforehand and the pipeline does. `setup` copies the schedule's snapshot to the run
 * (runs/<id>/snapshot.json) and records the run as running; `finalize`, which the backend runs after
 * the steps, records each step that never wrote an end and the run's outcome. Each flavor ships it
 * as its own bin (`orch-kubeflow-run`, `orch-vertex-run`, `orch-azureml-run`).
 *
 * The run id is `--run-id`, or — when the backend names the run only at run time — read from the
 * variable `$ORCH_RUN_ID_FROM` names (backend-run-id.ts), exactly as `orch-entrypoint step` reads it.
 */
import { parseArgs } from "node:util";
import { OrchError } from "../errors.js";
import { assertValidRunId } from "../names.js";
import { createArtifactStore, type ComponentSpec } from "../plugins/stack.js";
import { parseSnapshot, type Snapshot } from "../snapshot/snapshot.js";
import { serializeSnapshot } from "../snapshot/compile.js";
import { readJson, type ArtifactStore } from "../store/artifact-store.js";
import { FINISHED_STEP_STATUSES, journalKeys, readRunRecord, readStepRecords, writeRunRecord, writeStepRecord, type RunRecord } from "../store/journal.js";
import { readStopRequest } from "../run/stop-request.js";
import { runIdFromEnvironment } from "./backend-run-id.js";
import { runPluginBin } from "./orchestrate.js";
import { ORCH_ENV } from "./step-command.js";

/** Which bin runs it, and the flavor its run records name. */
export interface ScheduledRunTaskOptions {
  bin: string;
  flavor: string;
  /** After setup wrote the run's journal: what the flavor records besides (e.g. which backend job the run is). */
  onSetup?: (context: { store: ArtifactStore; runId: string; snapshot: Snapshot }) => Promise<void>;
}

/** The bin's main: `<bin> setup --snapshot KEY --run-id ID` or `<bin> finalize --run-id ID`; returns the exit code. */
export function scheduledRunTask(argv: string[], { bin, flavor, onSetup }: ScheduledRunTaskOptions): Promise<number> {
  const usage = `Usage: ${bin} setup --snapshot KEY [--run-id ID] [--stack NAME] [--project-root DIR]
       ${bin} finalize [--run-id ID] [--project-root DIR]
  The artifact store comes from $${ORCH_ENV.artifactStore}; without --run-id, the run id from the
  variable $${ORCH_ENV.runIdFrom} names (the backend's name of the run).`;
  return runPluginBin(bin, usage, async () => {
    const [command, ...rest] = argv;
    const { values } = parseArgs({ args: rest, options: { snapshot: { type: "string" }, "run-id": { type: "string" }, stack: { type: "string" }, "project-root": { type: "string" } }, strict: true });
    const runId = values["run-id"] ?? runIdFromEnvironment();
    const storeSpec = process.env[ORCH_ENV.artifactStore];
    if ((command !== "setup" && command !== "finalize") || !runId || !storeSpec || (command === "setup" && !values.snapshot)) {
      process.stderr.write(`${usage}\n`);
      return 2;
    }
    assertValidRunId(runId);
    const { store } = await createArtifactStore(JSON.parse(storeSpec) as ComponentSpec<never>, values["project-root"] ?? process.cwd());
    const newRecord = (snapshot: Snapshot, startedAt: string): RunRecord => ({
      runId,
      pipeline: snapshot.pipeline.name,
      pipelineHash: snapshot.pipeline.hash,
      status: "running",
      startedAt,
      ...(values.stack ? { stack: values.stack } : {}),
      orchestrator: flavor,
      parameters: snapshot.parameters,
    });
    if (command === "setup") {
      const raw = await readJson(store, values.snapshot!);
      if (!raw) {
        throw new OrchError("E_RUN_NOT_FOUND", {
          message: `No schedule snapshot at ${values.snapshot} in the artifact store at ${store.uri}.`,
          hint: "Create the schedule again (orch schedule create), which stores its snapshot.",
        });
      }
      const snapshot = parseSnapshot(raw, `schedule snapshot ${values.snapshot}`);
      // A retried setup task finds what the first attempt wrote.
      if (!(await readJson(store, journalKeys.snapshot(runId)))) await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      if (!(await readRunRecord(store, runId))) await writeRunRecord(store, newRecord(snapshot, new Date().toISOString()));
      await onSetup?.({ store, runId, snapshot });
      process.stdout.write(`scheduled run ${runId} of ${snapshot.pipeline.name}\n`);
      return 0;
    }
    const run = await readRunRecord(store, runId);
    const snapshot = parseSnapshot(await readJson(store, journalKeys.snapshot(runId)), `run ${runId}`);
    const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
    const stopped = (await readStopRequest(store, runId)) !== undefined;
    const finishedAt = new Date().toISOString();
    const failed: string[] = [];
    for (const stepId of snapshot.order) {
      const record = records.get(stepId);
      if (record && FINISHED_STEP_STATUSES.has(record.status)) {
        if (record.status === "failed") failed.push(stepId);
        continue;
      }
      const base = record ?? { runId, stepId, name: snapshot.steps[stepId]!.name, status: "pending" as const, attempts: 0, outputs: {}, metadata: {} };
      if (record?.status === "running" && !stopped) {
        failed.push(stepId);
        await writeStepRecord(store, { ...base, status: "failed", finishedAt, error: { code: "E_STEP_FAILED", message: `Step ${stepId}: its task ended before the step recorded an end.` } });
      } else {
        // A task that never started its step (its container could not start) is a failure too.
        if (!record && !stopped && !snapshot.steps[stepId]!.upstream.some((up) => records.get(up)?.status !== "succeeded" && records.get(up)?.status !== "cached")) failed.push(stepId);
        await writeStepRecord(store, { ...base, status: stopped ? "stopped" : "skipped", finishedAt, error: { message: stopped ? "not run: the run was stopped" : "not run: an upstream step failed" } });
      }
    }
    const status = stopped ? "stopped" : failed.length ? "failed" : "succeeded";
    if (!run || run.status === "running") {
      const base = run ?? newRecord(snapshot, finishedAt);
      await writeRunRecord(store, { ...base, status, finishedAt, ...(failed.length ? { error: { code: "E_STEP_FAILED", message: `Step${failed.length > 1 ? "s" : ""} ${failed.join(", ")} failed.` } } : {}) });
    }
    process.stdout.write(`run ${runId}: ${status}\n`);
    return 0;
  });
}
