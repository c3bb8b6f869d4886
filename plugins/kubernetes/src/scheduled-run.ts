/**
 * `orch-kubernetes-scheduled-run`: what a schedule's CronJob runs. A CronJob cannot name the run, so this
 * derives the run id from the Job the CronJob created (a restarted pod of that Job finds the same run),
 * copies the schedule's snapshot to runs/<runId>/snapshot.json and runs core's scheduler with this
 * plugin's step launcher, exactly as `orch-entrypoint orchestrate --resume` does for submitted runs.
 */
import { parseArgs } from "node:util";
import {
  EXIT_STOPPED,
  OrchError,
  createArtifactStore,
  executeRun,
  isOrchError,
  journalKeys,
  loadPipelineDefinition,
  parseComponentConfig,
  parseSnapshot,
  readJson,
  serializeSnapshot,
  watchTermination,
  type ComponentSpec,
} from "@orch/core";
import plugin from "./index.js";
import { scheduleSnapshotKey, scheduledRunId } from "./manifests.js";
import { createKubernetesOrchestrator } from "./runtime.js";

const USAGE = `Usage: orch-kubernetes-scheduled-run --schedule NAME [--orchestrator JSON] [--stack NAME] [--project-root DIR]
  The artifact store comes from $ORCH_ARTIFACT_STORE, the orchestrator from $ORCH_ORCHESTRATOR (both set
  from the schedule's Secret), the Job name from $ORCH_JOB_NAME (else $HOSTNAME).
  SIGTERM stops the run only after orch run stop asked for it; otherwise the process exits 143 and the
  Job's replacement pod resumes the run.`;

export async function main(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { schedule: { type: "string" }, orchestrator: { type: "string" }, stack: { type: "string" }, "project-root": { type: "string" } },
      strict: true,
    });
    const orchestratorSpec = values.orchestrator ?? process.env.ORCH_ORCHESTRATOR;
    if (!values.schedule || !orchestratorSpec || !process.env.ORCH_ARTIFACT_STORE) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const projectRoot = values["project-root"] ?? process.cwd();
    const jobName = process.env.ORCH_JOB_NAME || (process.env.HOSTNAME ?? "").replace(/-[a-z0-9]{5}$/, "");
    if (!jobName) throw new OrchError("E_USAGE", { message: "Cannot tell which Job this pod belongs to.", hint: "Set ORCH_JOB_NAME (the CronJob template does, from the job-name label)." });
    const runId = scheduledRunId(jobName);
    const { store } = await createArtifactStore(JSON.parse(process.env.ORCH_ARTIFACT_STORE) as ComponentSpec<never>, projectRoot);
    const template = await readJson(store, scheduleSnapshotKey(values.schedule));
    if (!template) {
      throw new OrchError("E_RUN_NOT_FOUND", {
        message: `Schedule ${values.schedule} has no snapshot in the artifact store at ${store.uri}.`,
        hint: "Create the schedule again (orch schedule create / pipeline deploy), which stores its snapshot.",
      });
    }
    const snapshot = parseSnapshot(template, `schedule ${values.schedule}`);
    if (!(await store.exists(journalKeys.snapshot(runId)))) await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
    const component = JSON.parse(orchestratorSpec) as ComponentSpec;
    const config = parseComponentConfig(plugin, component.config);
    const orchestrator = createKubernetesOrchestrator(config, { projectRoot, stackName: "in-cluster", artifactStore: store });
    const controller = new AbortController();
    const termination = watchTermination({ store, runId, controller });
    process.stdout.write(`scheduled run ${runId} of ${snapshot.pipeline.name} (Job ${jobName})\n`);
    try {
      const running = executeRun({
        snapshot,
        runId,
        store,
        signal: controller.signal,
        resume: true,
        projectRoot,
        launch: orchestrator.stepLauncher!,
        orchestrator: "kubernetes",
        ...(values.stack ? { stack: values.stack } : {}),
        ...(snapshot.pipeline.dynamic ? { pipeline: await loadPipelineDefinition(snapshot, projectRoot) } : {}),
        ...(config.maxParallelism ? { maxParallelism: config.maxParallelism } : {}),
        observer: { stepUpdated: (r) => void process.stdout.write(`step ${r.stepId}: ${r.status}\n`) },
      });
      running.catch(() => {});
      // A shutdown (SIGTERM without a stop request) exits at once; the running step Jobs stay for the replacement.
      const outcome = await Promise.race([running, termination.shutdown]);
      if (typeof outcome === "number") return outcome;
      const { run } = outcome;
      process.stdout.write(`run ${runId}: ${run.status}\n`);
      return run.status === "succeeded" ? 0 : run.status === "stopped" ? EXIT_STOPPED : 1;
    } finally {
      termination.dispose();
      await orchestrator.dispose?.();
    }
  } catch (error) {
    if (isOrchError(error)) {
      process.stderr.write(`orch-kubernetes-scheduled-run: ${error.format()}\n`);
      return error.code === "E_USAGE" ? 2 : 1;
    }
    throw error;
  }
}
