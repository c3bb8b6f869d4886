/**
 * The kubeflow runtime: compiles the snapshot to KFP IR (@orch/kfp), uploads it as a pipeline version
 * (one per IR content, so a re-run uploads nothing), creates a run with orch's run id as its runtime
 * parameter, and follows it through the journal the step pods write, with the KFP run's state as the
 * backend's word on when it is over. Stop terminates the KFP run; schedules are recurring runs.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { runnerSnapshot, taskNames, toKfpYaml, toPipelineSpec, RUN_ID_PARAMETER, type KfpCompileOptions, type KfpCompileResult } from "@orch/kfp";
import {
  OrchError,
  followRun,
  journalKeys,
  readRunRecord,
  readStepRecords,
  serializeSnapshot,
  settleRun,
  sha256,
  writeRunRecord,
  type BackendEnd,
  type Orchestrator,
  type PluginContext,
  type RunRecord,
  type Snapshot,
} from "@orch/core/plugin";
import type { Run } from "./api-types.js";
import { KfpApiError, KfpClient, kfpError } from "./client.js";
import { FLAVOR, type KubeflowOrchestratorConfig } from "./config.js";
import { stepLogs } from "./logs.js";
import { createSchedule, deleteSchedule, listSchedules } from "./schedules.js";
import { finalizeRun, isTerminal, runStatusOf } from "./status.js";

export interface KubeflowContext {
  config: KubeflowOrchestratorConfig;
  client: KfpClient;
  context: PluginContext;
  compile(snapshot: Snapshot, options?: Pick<KfpCompileOptions, "scheduled">): KfpCompileResult;
  ensureVersion(snapshot: Snapshot, ir: KfpCompileResult): Promise<{ pipeline_id: string; pipeline_version_id: string }>;
  ensureExperiment(): Promise<string>;
  runtimeParameters(snapshot: Snapshot): Record<string, unknown>;
  pipelineRoot(): string | undefined;
}

export function createOrchestrator(config: KubeflowOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  const client = KfpClient.fromConfig(config);
  /** orch run id → KFP run id, for runs this process created (others are found by display name). */
  const kfpRuns = new Map<string, string>();
  let experimentId: Promise<string> | undefined;
  const fail = (action: string, error: unknown) => kfpError(action, error, config);

  const ctx: KubeflowContext = {
    config,
    client,
    context,
    compile(snapshot, extra = {}) {
      if (!config.image) {
        throw new OrchError("E_CONFIG_INVALID", {
          flavor: FLAVOR,
          key: "image",
          message: "kubeflow: no image to run the steps in.",
          hint: "Set the orchestrator's image (orch orchestrator update NAME --image=registry.example.com/project:tag): an image with the project, its node_modules and orch-entrypoint.",
        });
      }
      return toPipelineSpec(snapshot, {
        image: config.image,
        projectRoot: config.projectRoot,
        ...(config.entrypointCommand ? { entrypoint: config.entrypointCommand } : {}),
        store,
        ...(config.storeCredentialsSecret ? { storeCredentialsSecret: config.storeCredentialsSecret } : {}),
        flavor: FLAVOR,
        strict: config.strict,
        warn: (message) => process.stderr.write(`[orch] kubeflow: warning: ${message}\n`),
        description: `orch pipeline ${snapshot.pipeline.name} (${snapshot.pipeline.hash.slice(0, 12)})`,
        ...extra,
      });
    },
    async ensureVersion(snapshot, ir) {
      const yaml = toKfpYaml(ir);
      const name = ir.pipelineSpec.pipelineInfo.name;
      // One version per IR content: the snapshot's structural hash, then the IR's own (image, settings, parameters).
      const version = `${snapshot.pipeline.hash.slice(0, 12)}-${sha256(yaml).slice(0, 12)}`;
      try {
        const pipeline =
          (await client.getPipelineByName(name)) ??
          (await client.uploadPipeline(yaml, { name, displayName: name, description: `orch pipeline ${snapshot.pipeline.name}` }).catch(async (error: unknown) => {
            // Another process uploaded it meanwhile.
            if (error instanceof KfpApiError && error.status === 409) return (await client.getPipelineByName(name))!;
            throw error;
          }));
        const existing = await client.findPipelineVersion(pipeline.pipeline_id, version);
        const uploaded = existing ?? (await client.uploadPipelineVersion(yaml, pipeline.pipeline_id, { name: version, displayName: version }));
        return { pipeline_id: pipeline.pipeline_id, pipeline_version_id: uploaded.pipeline_version_id };
      } catch (error) {
        throw fail(`uploading pipeline ${name} version ${version}`, error);
      }
    },
    ensureExperiment() {
      experimentId ??= (async () => {
        try {
          const found = await client.findExperiment(config.experiment);
          return (found ?? (await client.createExperiment(config.experiment))).experiment_id;
        } catch (error) {
          experimentId = undefined;
          throw fail(`finding or creating experiment ${config.experiment}`, error);
        }
      })();
      return experimentId;
    },
    runtimeParameters(snapshot) {
      // A null parameter is declared without a default (KFP has no null STRING): it is left unset.
      return Object.fromEntries(Object.entries(snapshot.parameters).filter(([, value]) => value !== null));
    },
    pipelineRoot() {
      if (config.pipelineRoot) return config.pipelineRoot;
      return store.flavor === "local" ? undefined : `${store.uri.replace(/\/+$/, "")}/kfp-root`;
    },
  };

  async function kfpRunOf(runId: string): Promise<Run | undefined> {
    const known = kfpRuns.get(runId);
    try {
      if (known) return await client.getRun(known);
      const found = await client.findRunByName(runId);
      if (found) kfpRuns.set(runId, found.run_id);
      return found;
    } catch (error) {
      throw fail(`reading the KFP run of ${runId}`, error);
    }
  }

  /** Polls the KFP run until it is over, then writes what the journal lacks: the backend's end for followRun. */
  async function kfpRunEnded(runId: string, kfpRunId: string, names: Map<string, string>, stopped: AbortSignal): Promise<BackendEnd> {
    let failures = 0;
    for (;;) {
      let run: Run;
      try {
        run = await client.getRun(kfpRunId);
        failures = 0;
      } catch (error) {
        // A flaky connection does not end the run; ten failed reads in a row end the follow.
        if (++failures >= 10) return { reason: `the KFP API stopped answering (${(error as Error).message})` };
        await sleep(config.pollIntervalSeconds * 1000);
        continue;
      }
      if (isTerminal(run.state)) {
        await finalizeRun(store, runId, run, names);
        return run.state === "CANCELED" || stopped.aborted ? { stopped: true, reason: `KFP run ${kfpRunId} was terminated` } : { reason: `KFP run ${kfpRunId} ended ${run.state}` };
      }
      await sleep(config.pollIntervalSeconds * 1000);
    }
  }

  async function stop(runId: string): Promise<void> {
    await settleRun(store, runId, {
      waitSeconds: Math.max(15, config.pollIntervalSeconds * 3),
      pollMs: Math.min(500, config.pollIntervalSeconds * 1000),
      stop: async () => {
        const run = await kfpRunOf(runId);
        if (!run) throw new OrchError("E_RUN_NOT_FOUND", { flavor: FLAVOR, message: `kubeflow: no KFP run named ${runId} at ${config.host}.`, hint: "Check the run id (orch run list) and the stack's host and userNamespace." });
        if (!isTerminal(run.state)) {
          try {
            await client.terminateRun(run.run_id);
          } catch (error) {
            throw fail(`terminating KFP run ${run.run_id}`, error);
          }
        }
        // KFP moves the run through CANCELING to CANCELED; then the journal gets the end.
        const deadline = Date.now() + Math.max(15, config.pollIntervalSeconds * 3) * 1000;
        for (;;) {
          const now = await kfpRunOf(runId);
          if (now && isTerminal(now.state)) {
            const snapshot = await readSnapshotOrder(runId);
            await finalizeRun(store, runId, now, taskNames(snapshot));
            return;
          }
          if (Date.now() > deadline) return;
          await sleep(Math.min(500, config.pollIntervalSeconds * 1000));
        }
      },
    });
  }

  async function readSnapshotOrder(runId: string): Promise<string[]> {
    const raw = await store.read(journalKeys.snapshot(runId)).catch(() => undefined);
    if (!raw) return [];
    return ((JSON.parse(Buffer.from(raw).toString("utf8")) as { order?: string[] }).order ?? []) as string[];
  }

  const runtime: Orchestrator = {
    flavor: FLAVOR,

    async preflight(snapshot) {
      ctx.compile(snapshot);
    },

    async submit(snapshot, submit) {
      const { runId } = submit;
      const ir = ctx.compile(snapshot);
      const names = taskNames(snapshot.order);
      // The step pods read the snapshot from the store; KFP retries a task itself, so each pod's runner makes one attempt.
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(runnerSnapshot(snapshot)));
      const reference = await ctx.ensureVersion(snapshot, ir);
      const experiment = await ctx.ensureExperiment();
      const pipelineRoot = ctx.pipelineRoot();
      let run: Run;
      try {
        run = await client.createRun({
          display_name: runId,
          description: `orch run ${runId} of ${snapshot.pipeline.name}`,
          experiment_id: experiment,
          pipeline_version_reference: reference,
          runtime_config: { parameters: { ...ctx.runtimeParameters(snapshot), [RUN_ID_PARAMETER]: runId }, ...(pipelineRoot ? { pipeline_root: pipelineRoot } : {}) },
          ...(config.serviceAccount ? { service_account: config.serviceAccount } : {}),
        });
      } catch (error) {
        throw fail(`creating the run ${runId}`, error);
      }
      kfpRuns.set(runId, run.run_id);
      const record: RunRecord = {
        runId,
        pipeline: snapshot.pipeline.name,
        pipelineHash: snapshot.pipeline.hash,
        status: "running",
        startedAt: run.created_at ?? new Date().toISOString(),
        ...(context.stackName ? { stack: context.stackName } : {}),
        orchestrator: FLAVOR,
        parameters: snapshot.parameters,
      };
      // Written once, before the steps could finish: a step never writes run.json.
      if (!(await readRunRecord(store, runId))) await writeRunRecord(store, record);
      const url = `${config.host.replace(/\/+$/, "")}/#/runs/details/${run.run_id}`;
      if (!config.synchronous) {
        return {
          runId,
          url,
          async wait() {
            return { run: (await readRunRecord(store, runId)) ?? record, steps: await readStepRecords(store, runId) };
          },
        };
      }
      const onStop = () => void stop(runId).catch(() => {});
      submit.signal.addEventListener("abort", onStop, { once: true });
      const done = followRun(store, runId, submit.observer, {
        snapshot,
        flavor: FLAVOR,
        pollMs: Math.min(500, config.pollIntervalSeconds * 1000),
        backendEnded: kfpRunEnded(runId, run.run_id, names, submit.signal),
      }).finally(() => submit.signal.removeEventListener("abort", onStop));
      done.catch(() => {});
      return { runId, url, wait: () => done };
    },

    async compile(snapshot) {
      const ir = ctx.compile(snapshot);
      return { "pipeline.yaml": toKfpYaml(ir) };
    },

    async status(runId) {
      const journal = await readRunRecord(store, runId);
      if (journal && journal.status !== "running") return journal.status;
      const run = await kfpRunOf(runId);
      if (!run) return journal ? "failed" : undefined;
      if (!isTerminal(run.state)) return runStatusOf(run.state);
      const snapshot = await readSnapshotOrder(runId);
      return (await finalizeRun(store, runId, run, taskNames(snapshot)))?.status ?? runStatusOf(run.state);
    },

    stop,
    logs: (runId, stepId, options) => stepLogs({ config, store, kfpRunOf, stepOrder: readSnapshotOrder }, runId, stepId, options),
    schedule: (snapshot, when) => createSchedule(ctx, snapshot, when),
    deleteSchedule: (id) => deleteSchedule(ctx, id),
    listSchedules: () => listSchedules(ctx),
  };
  return runtime;
}
