/**
 * `orch-airflow-scheduled-step`: what each task of a schedule's DAG runs. Airflow's scheduler starts
 * those DAG runs, so before the step runs this (1) derives the orch run id from the DAG run's id,
 * (2) stores the schedule's snapshot under it and creates the run record if no task of the run did yet,
 * then (3) runs `orch-entrypoint step` for the step (the command after `--`), and (4) records the run's
 * end when this step ends it: a failure under fail-fast, or the last step to succeed.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import {
  COMPLETED_STEP_STATUSES,
  ORCH_ENV,
  OrchError,
  createArtifactStore,
  journalKeys,
  parseSnapshot,
  readJson,
  readRunRecord,
  readStepRecords,
  runPluginBin,
  writeRunRecord,
  type ArtifactStore,
  type ComponentSpec,
} from "@orch/core/plugin";
import { dagRunKey, orchRunId, scheduleSnapshotKey } from "./scheduled-runs.js";

const USAGE = `Usage: orch-airflow-scheduled-step --dag-id DAG --airflow-run-id RUN --step STEP --project-root DIR -- ENTRYPOINT…
  Runs one step of a scheduled DAG run: ENTRYPOINT is how the image starts orch-entrypoint (e.g. orch-entrypoint).
  The artifact store comes from $${ORCH_ENV.artifactStore}, the try from $${ORCH_ENV.attempt}.`;

export function main(argv: string[]): Promise<number> {
  return runPluginBin("orch-airflow-scheduled-step", USAGE, async () => {
    if (argv[0] === "--help" || argv[0] === "-h") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const split = argv.indexOf("--");
    const { values } = parseArgs({
      args: split === -1 ? argv : argv.slice(0, split),
      options: { "dag-id": { type: "string" }, "airflow-run-id": { type: "string" }, step: { type: "string" }, "project-root": { type: "string" } },
      strict: true,
    });
    const entrypoint = split === -1 ? [] : argv.slice(split + 1);
    const storeSpec = process.env[ORCH_ENV.artifactStore];
    const dagId = values["dag-id"];
    const dagRunId = values["airflow-run-id"];
    const stepId = values.step;
    if (!dagId || !dagRunId || !stepId || !entrypoint.length || !storeSpec) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const projectRoot = values["project-root"] ?? process.cwd();
    const runId = orchRunId(dagRunId);
    const { store } = await createArtifactStore(JSON.parse(storeSpec) as ComponentSpec<never>, projectRoot);
    const snapshot = await prepareRun(store, dagId, dagRunId, runId);
    process.stdout.write(`scheduled run ${runId} of ${snapshot.pipeline.name} (DAG run ${dagRunId}): step ${stepId}\n`);
    const code = await new Promise<number>((resolve) => {
      const args = ["step", "--run-id", runId, "--step", stepId, "--project-root", projectRoot];
      const child = spawn(entrypoint[0]!, [...entrypoint.slice(1), ...args], { stdio: "inherit", env: { ...process.env, [ORCH_ENV.runId]: runId } });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on("SIGTERM", forward).on("SIGINT", forward);
      child.on("error", (error) => {
        process.stderr.write(`orch-airflow-scheduled-step: cannot start ${entrypoint[0]}: ${error.message}\n`);
        resolve(127);
      });
      child.on("close", (exit, signal) => resolve(exit ?? (signal === "SIGTERM" ? 143 : 1)));
    });
    await recordRunEnd(store, runId, snapshot);
    return code;
  });
}

async function prepareRun(store: ArtifactStore, dagId: string, dagRunId: string, runId: string) {
  const key = journalKeys.snapshot(runId);
  let raw = await readJson(store, key);
  if (raw === undefined) {
    const template = await store.read(scheduleSnapshotKey(dagId));
    if (!template) {
      throw new OrchError("E_RUN_NOT_FOUND", {
        message: `Schedule ${dagId} has no snapshot in the artifact store at ${store.uri}.`,
        hint: "Create the schedule again (orch schedule create / orch pipeline run of the scheduled pipeline), which stores its snapshot.",
      });
    }
    // The first task of the DAG run stores it; parallel first tasks store the same bytes.
    if (store.writeIfAbsent) await store.writeIfAbsent(key, template);
    else await store.write(key, template);
    raw = await readJson(store, key);
  }
  const snapshot = parseSnapshot(raw, `run ${runId}`);
  const ref = { dagId, dagRunId };
  if (store.writeIfAbsent) await store.writeIfAbsent(dagRunKey(runId), JSON.stringify(ref));
  else if (!(await store.exists(dagRunKey(runId)))) await store.write(dagRunKey(runId), JSON.stringify(ref));
  const run = { runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, status: "running" as const, startedAt: new Date().toISOString(), parameters: snapshot.parameters, orchestrator: "airflow" };
  if (store.writeIfAbsent) await store.writeIfAbsent(journalKeys.run(runId), `${JSON.stringify(run, null, 2)}\n`);
  else if (!(await readRunRecord(store, runId))) await writeRunRecord(store, run);
  return snapshot;
}

/** The run ends with this step when it failed (fail-fast: Airflow stops the others) or was the last one to finish. */
async function recordRunEnd(store: ArtifactStore, runId: string, snapshot: ReturnType<typeof parseSnapshot>): Promise<void> {
  const run = await readRunRecord(store, runId);
  if (!run || run.status !== "running") return;
  const records = new Map((await readStepRecords(store, runId)).map((r) => [r.stepId, r]));
  const failed = snapshot.order.map((id) => records.get(id)).find((r) => r?.status === "failed" || r?.status === "stopped");
  const finishedAt = new Date().toISOString();
  if (failed && snapshot.pipeline.settings.executionMode === "fail-fast") {
    await writeRunRecord(store, { ...run, status: failed.status === "stopped" ? "stopped" : "failed", finishedAt, error: { code: "E_STEP_FAILED", message: `Step "${failed.stepId}" failed: ${failed.error?.message ?? "see its log"}` } });
  } else if (snapshot.order.every((id) => COMPLETED_STEP_STATUSES.has(records.get(id)?.status ?? "pending"))) {
    await writeRunRecord(store, { ...run, status: "succeeded", finishedAt });
  }
}
