/**
 * The sagemaker runtime: compiles a snapshot to a pipeline definition, keeps the SageMaker pipeline
 * up to date with it, and runs each orch run as one pipeline execution. The step processes (one
 * processing job each) write the journal; this process writes run.json, follows the journal with
 * core's followRun, and records what SageMaker knows at the end (steps that never ran, failure
 * reasons of jobs that never started).
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  OrchError,
  followRun,
  readRunRecord,
  readStepRecords,
  serializeSnapshot,
  settleRun,
  sha256,
  journalKeys,
  parseSnapshot,
  writeRunRecord,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunObserver,
  type RunRecord,
  type Snapshot,
  type StepRecord,
  buildStackImage,
  IMAGE_BUILT_AT_SUBMIT,
} from "@orch/core/plugin";
import { awsError, createAwsClients } from "./aws.js";
import { FLAVOR, type SageMakerOrchestratorConfig } from "./config.js";
import { compileDefinition, parameterValue, RUN_ID_PARAMETER, type CompiledDefinition } from "./definition.js";
import { TERMINAL, describeExecution, ensurePipeline, executionSteps, readExecutionRef, recordExecutionEnd, writeExecutionRef, type ExecutionRef } from "./executions.js";
import { stepLogs } from "./logs.js";
import { sageMakerPipelineName } from "./names.js";
import { createSchedule, deleteSchedule, listSchedules, scheduleName, scheduleRequest, scheduleSnapshotKey, storeScheduleSnapshot } from "./schedules.js";
import { compactStoreSpec, type StoreSpec } from "./store-spec.js";

/** SageMaker's execution display names: letters and digits joined by single hyphens, at most 82. */
const displayName = (runId: string) => runId.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 82) || "orch-run";

export function createOrchestrator(config: SageMakerOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  const clients = createAwsClients(config);
  let builtImage: string | undefined;
  let storeSpec: Promise<StoreSpec> | undefined;
  const spec = () => (storeSpec ??= compactStoreSpec(store, context));

  async function ensureImage(): Promise<string> {
    if (config.image) return config.image;
    builtImage ??= await buildStackImage({ flavor: FLAVOR, key: "image", puller: "SageMaker (it pulls step images from ECR)", baseImage: config.build?.baseImage ?? "node:20-bookworm-slim", imageName: config.build?.imageName, context, loadDocker: () => import("@orch/docker") });
    return builtImage;
  }

  /** Settings SageMaker cannot honour: refused, or (strict: false) warned about. */
  function checkHonourable(snapshot: Snapshot): void {
    if (snapshot.pipeline.settings.executionMode === "continue-on-failure") {
      const message = `Pipeline "${snapshot.pipeline.name}" asks for executionMode continue-on-failure, but a SageMaker execution starts no further steps once one has failed.`;
      if (config.strict) throw new OrchError("E_CAPABILITY_UNSUPPORTED", { flavor: FLAVOR, message, hint: "Use fail-fast, or set the orchestrator's strict to false to run fail-fast with a warning." });
      process.stderr.write(`[orch] sagemaker: warning: ${message} Running fail-fast (strict: false).\n`);
    }
  }

  async function compiled(snapshot: Snapshot, image: string): Promise<CompiledDefinition> {
    return compileDefinition({ snapshot, config, image, storeSpec: await spec() });
  }

  const pipelineName = (snapshot: Snapshot) => sageMakerPipelineName(config.pipelineNamePrefix, snapshot.pipeline.name);

  /** Polls the execution until it ends, then records its end in the journal. */
  async function watchExecution(runId: string, snapshot: Snapshot, ref: ExecutionRef, observer: RunObserver | undefined): Promise<BackendEnd> {
    const announced = new Map<string, string>();
    for (;;) {
      const execution = await describeExecution(clients, ref.executionArn);
      const status = execution.PipelineExecutionStatus ?? "Executing";
      if (TERMINAL.has(status)) {
        await recordExecutionEnd(clients, store, runId, snapshot, ref, status, execution.FailureReason);
        return { ...(status === "Stopped" ? { stopped: true } : {}), reason: `the SageMaker execution ended ${status.toLowerCase()}${execution.FailureReason ? `: ${execution.FailureReason}` : ""}` };
      }
      if (observer?.stepUpdated) await announceLiveSteps(runId, snapshot, ref, observer, announced);
      await sleep(config.pollSeconds * 1000);
    }
  }

  /**
   * SageMaker's view of steps the journal does not show yet (a job provisioning its instance, a
   * service fault being retried), passed to the observer live and not written: each step's process
   * owns its record.
   */
  async function announceLiveSteps(runId: string, snapshot: Snapshot, ref: ExecutionRef, observer: RunObserver, announced: Map<string, string>): Promise<void> {
    const journal = new Set((await readStepRecords(store, runId)).map((r) => r.stepId));
    const steps = await executionSteps(clients, ref.executionArn);
    for (const id of snapshot.order) {
      if (journal.has(id)) continue;
      const step = steps.find((s) => s.StepName === (ref.stepNames[id] ?? id));
      if (!step?.StepStatus) continue;
      const key = `${step.StepStatus}/${step.AttemptCount ?? 0}/${step.FailureReason ?? ""}`;
      if (announced.get(id) === key) continue;
      announced.set(id, key);
      const record: StepRecord = {
        runId,
        stepId: id,
        name: snapshot.steps[id]!.name,
        status: step.StepStatus === "Executing" ? "running" : "pending",
        attempts: step.AttemptCount ?? 0,
        outputs: {},
        metadata: { sagemakerStepStatus: step.StepStatus, ...(step.FailureReason ? { sagemakerLastFailure: step.FailureReason } : {}) },
      };
      await observer.stepUpdated?.(record);
    }
  }

  async function stop(runId: string): Promise<void> {
    const ref = await readExecutionRef(store, runId);
    await settleRun(store, runId, {
      stop: async () => {
        if (!ref) return;
        const { client, sdk } = await clients.sagemaker();
        try {
          await client.send(new sdk.StopPipelineExecutionCommand({ PipelineExecutionArn: ref.executionArn, ClientRequestToken: sha256(`stop ${ref.executionArn}`).slice(0, 64) }));
        } catch (error) {
          // An execution that already ended cannot be stopped: recording its end below is all there is to do.
          if (!/terminal state|cannot be stopped/i.test((error as Error).message)) throw awsError(`StopPipelineExecution ${ref.executionArn}`, error);
        }
        // Wait for SageMaker to end the execution, then record what the step processes did not.
        const snapshot = await journalSnapshot(runId);
        for (let i = 0; i < 600; i++) {
          const execution = await describeExecution(clients, ref.executionArn);
          if (TERMINAL.has(execution.PipelineExecutionStatus ?? "")) {
            if (snapshot) await recordExecutionEnd(clients, store, runId, snapshot, ref, execution.PipelineExecutionStatus!, execution.FailureReason);
            return;
          }
          await sleep(Math.min(1000, config.pollSeconds * 1000));
        }
      },
    });
  }

  async function journalSnapshot(runId: string): Promise<Snapshot | undefined> {
    const bytes = await store.read(journalKeys.snapshot(runId));
    if (!bytes) return undefined;
    return parseSnapshot(JSON.parse(Buffer.from(bytes).toString("utf8")), `run ${runId}`);
  }

  const runtime: Orchestrator = {
    flavor: FLAVOR,

    async preflight(snapshot) {
      checkHonourable(snapshot);
      await compiled(snapshot, config.image ?? IMAGE_BUILT_AT_SUBMIT);
    },

    async compile(snapshot) {
      checkHonourable(snapshot);
      const { definition } = await compiled(snapshot, config.image ?? IMAGE_BUILT_AT_SUBMIT);
      const files: Record<string, string> = {
        "pipeline-definition.json": `${JSON.stringify(definition, null, 2)}\n`,
        "snapshot.json": serializeSnapshot(snapshot),
      };
      const when = snapshot.pipeline.schedule;
      if (when) {
        // A schedule runs its own pipeline (the same steps, run ids taken from the executions).
        const name = scheduleName(pipelineName(snapshot), snapshot, when);
        const scheduled = compileDefinition({ snapshot, config, image: config.image ?? IMAGE_BUILT_AT_SUBMIT, storeSpec: await spec(), scheduled: { snapshotKey: scheduleSnapshotKey(name) } });
        files["schedule-pipeline-definition.json"] = `${JSON.stringify(scheduled.definition, null, 2)}\n`;
        files["schedule.json"] = `${JSON.stringify(scheduleRequest(config, name, `arn:aws:sagemaker:${config.region ?? "REGION"}:ACCOUNT:pipeline/${name}`, snapshot, when), null, 2)}\n`;
      }
      return files;
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      checkHonourable(snapshot);
      const image = await ensureImage();
      const { definition, stepNames, parameterNames } = await compiled(snapshot, image);
      const name = pipelineName(snapshot);
      const pipelineArn = await ensurePipeline(clients, config, store, await spec(), name, definition, snapshot);
      // The step processes read the snapshot from the store; this process owns run.json.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
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
      if (!submit.resume && (await readRunRecord(store, runId))) {
        throw new OrchError("E_RUN_EXISTS", { flavor: FLAVOR, message: `Run ${runId} already exists in the artifact store at ${store.uri}.`, hint: "Use a new run id." });
      }
      await writeRunRecord(store, run);
      const { client, sdk } = await clients.sagemaker();
      let executionArn: string;
      try {
        const started = await client.send(
          new sdk.StartPipelineExecutionCommand({
            PipelineName: name,
            PipelineExecutionDisplayName: displayName(runId),
            PipelineParameters: [
              { Name: RUN_ID_PARAMETER, Value: runId },
              ...[...parameterNames].map(([param, mapped]) => ({ Name: mapped, Value: parameterValue(snapshot.parameters[param]) })),
            ],
            // A retried start of the same run is the same execution.
            ClientRequestToken: sha256(`${pipelineArn} ${runId}`).slice(0, 64),
          }),
        );
        executionArn = started.PipelineExecutionArn!;
      } catch (error) {
        await writeRunRecord(store, { ...run, status: "failed", finishedAt: new Date().toISOString(), error: { code: "E_BACKEND_UNAVAILABLE", message: `Starting the SageMaker execution failed: ${(error as Error).message}` } });
        throw awsError(`StartPipelineExecution ${name}`, error);
      }
      const ref: ExecutionRef = { pipelineName: name, pipelineArn, executionArn, stepNames: Object.fromEntries(stepNames) };
      await writeExecutionRef(store, runId, ref);
      const url = config.region ? `https://${config.region}.console.aws.amazon.com/sagemaker/home?region=${config.region}#/pipelines/${name}/executions/${executionArn.split("/").pop()}` : undefined;
      if (!config.synchronous) {
        return {
          runId,
          ...(url ? { url } : {}),
          async wait() {
            return { run: (await readRunRecord(store, runId)) ?? run, steps: await readStepRecords(store, runId) };
          },
        };
      }
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const done = followRun(store, runId, submit.observer, { snapshot, flavor: FLAVOR, backendEnded: watchExecution(runId, snapshot, ref, submit.observer) }).finally(() =>
        submit.signal.removeEventListener("abort", onStop),
      );
      done.catch(() => {});
      return { runId, ...(url ? { url } : {}), wait: () => done };
    },

    async status(runId) {
      const run = await readRunRecord(store, runId);
      if (run && run.status !== "running") return run.status;
      const ref = await readExecutionRef(store, runId);
      if (!ref) return run?.status;
      const execution = await describeExecution(clients, ref.executionArn);
      const status = execution.PipelineExecutionStatus ?? "Executing";
      if (!TERMINAL.has(status)) return "running";
      const snapshot = await journalSnapshot(runId);
      if (!snapshot) return run?.status;
      return (await recordExecutionEnd(clients, store, runId, snapshot, ref, status, execution.FailureReason))?.status;
    },

    stop,
    logs: (runId, stepId, options) => stepLogs(clients, store, runId, stepId, { ...options, pollMs: Math.min(1000, config.pollSeconds * 1000) }),

    async schedule(snapshot, when) {
      checkHonourable(snapshot);
      const name = scheduleName(pipelineName(snapshot), snapshot, when);
      // Refusals (catchup, an interval rate() cannot express) before anything is created.
      scheduleRequest(config, name, "arn:aws:sagemaker:::pipeline/check", snapshot, when);
      const image = await ensureImage();
      const snapshotKey = scheduleSnapshotKey(name);
      const { definition } = compileDefinition({ snapshot, config, image, storeSpec: await spec(), scheduled: { snapshotKey } });
      await storeScheduleSnapshot(store, name, snapshot);
      const pipelineArn = await ensurePipeline(clients, config, store, await spec(), name, definition, snapshot);
      return createSchedule(clients, config, name, pipelineArn, snapshot, when);
    },
    deleteSchedule: (id) => deleteSchedule(clients, store, id),
    listSchedules: () => listSchedules(clients),

    async dispose() {
      clients.dispose();
    },
  };
  return runtime;
}
