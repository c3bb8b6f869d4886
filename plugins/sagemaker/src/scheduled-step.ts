/**
 * `orch-sagemaker-scheduled-step`: what each processing job of a schedule's pipeline runs. An
 * execution EventBridge Scheduler started has no orch run yet, so this names it after the SageMaker
 * execution (`sm-<execution id>`: every step of the execution finds the same run), lays out its
 * journal when it is the first step there (the schedule's snapshot copied to runs/<runId>/, run.json,
 * the execution reference), runs `orch-entrypoint step` for its step, and — when it finishes the
 * run's last step — records the run's end.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import {
  COMPLETED_STEP_STATUSES,
  FINISHED_STEP_STATUSES,
  ORCH_ENV,
  OrchError,
  createArtifactStore,
  journalKeys,
  parseSnapshot,
  readJson,
  readRunRecord,
  readStepRecords,
  runPluginBin,
  serializeSnapshot,
  writeRunRecord,
  type ComponentSpec,
} from "@orch/core/plugin";
import { FLAVOR } from "./config.js";
import { EXECUTION_ARN_ENV } from "./definition.js";
import { readExecutionRef, writeExecutionRef } from "./executions.js";
import { stepNames } from "./names.js";

const USAGE = `Usage: orch-sagemaker-scheduled-step --snapshot KEY --step STEP_ID [--project-root DIR] -- ENTRYPOINT…
  KEY: the schedule's snapshot in the artifact store ($${ORCH_ENV.artifactStore}); the execution from $${EXECUTION_ARN_ENV}.
  ENTRYPOINT: how this image runs orch-entrypoint (e.g. orch-entrypoint).`;

/** The orch run id of a SageMaker execution: `sm-` and the execution id. */
export const scheduledRunId = (executionArn: string) => `sm-${executionArn.split("/").pop()}`;

export function main(argv: string[]): Promise<number> {
  return runPluginBin("orch-sagemaker-scheduled-step", USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { snapshot: { type: "string" }, step: { type: "string" }, "project-root": { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
    const executionArn = process.env[EXECUTION_ARN_ENV];
    const storeSpec = process.env[ORCH_ENV.artifactStore];
    if (!values.snapshot || !values.step || !positionals.length || !executionArn || !storeSpec) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const projectRoot = values["project-root"] ?? process.cwd();
    const runId = scheduledRunId(executionArn);
    const { store } = await createArtifactStore(JSON.parse(storeSpec) as ComponentSpec<never>, projectRoot);
    const template = await readJson(store, values.snapshot);
    if (!template) {
      throw new OrchError("E_RUN_NOT_FOUND", {
        flavor: FLAVOR,
        message: `The schedule's snapshot ${values.snapshot} is not in the artifact store at ${store.uri}.`,
        hint: "Create the schedule again (orch pipeline run of the scheduled pipeline), which stores its snapshot.",
      });
    }
    const snapshot = parseSnapshot(template, `schedule snapshot ${values.snapshot}`);
    // Every step of the execution may be first: each write is the same, whoever makes it.
    if ((await readJson(store, journalKeys.snapshot(runId))) === undefined) await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
    if (!(await readRunRecord(store, runId))) {
      await writeRunRecord(store, { runId, pipeline: snapshot.pipeline.name, pipelineHash: snapshot.pipeline.hash, status: "running", startedAt: new Date().toISOString(), orchestrator: FLAVOR, parameters: snapshot.parameters });
    }
    if (!(await readExecutionRef(store, runId))) {
      const pipelineArn = executionArn.replace(/\/execution\/[^/]+$/, "");
      await writeExecutionRef(store, runId, { pipelineName: pipelineArn.split("/").pop()!, pipelineArn, executionArn, stepNames: Object.fromEntries(stepNames(snapshot.order)) });
    }
    process.stdout.write(`scheduled run ${runId} of ${snapshot.pipeline.name}: step ${values.step}\n`);
    const [command, ...args] = positionals;
    const child = spawn(command!, [...args, "step", "--run-id", runId, "--step", values.step, "--project-root", projectRoot], {
      stdio: "inherit",
      env: { ...process.env, [ORCH_ENV.runId]: runId, [ORCH_ENV.stepId]: values.step },
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    process.on("SIGTERM", forward("SIGTERM"));
    process.on("SIGINT", forward("SIGINT"));
    const code = await new Promise<number>((resolve) => child.on("close", (exit, signal) => resolve(exit ?? (signal ? 128 + 15 : 1))));
    // The run's last step to finish records the end when all succeeded; a failed run's end is
    // recorded by the orchestrator's status() (SageMaker starts no step after a failure).
    const records = await readStepRecords(store, runId);
    const done = snapshot.order.every((id) => records.some((r) => r.stepId === id && FINISHED_STEP_STATUSES.has(r.status)));
    const run = await readRunRecord(store, runId);
    if (done && run?.status === "running" && records.every((r) => COMPLETED_STEP_STATUSES.has(r.status))) {
      await writeRunRecord(store, { ...run, status: "succeeded", finishedAt: new Date().toISOString() });
    }
    return code;
  });
}
