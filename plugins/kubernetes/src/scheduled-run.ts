/**
 * `orch-kubernetes-scheduled-run`: what a schedule's CronJob runs. A CronJob cannot name the run, so this
 * derives the run id from the Job the CronJob created (a restarted pod of that Job finds the same run)
 * and hands the schedule's snapshot to core's `orchestrate`, exactly as `orch-entrypoint orchestrate
 * --resume` runs a submitted run: core's scheduler with this plugin's step launcher.
 */
import { parseArgs } from "node:util";
import { ORCH_ENV, OrchError, createArtifactStore, orchestrate, parseComponentConfig, parseSnapshot, readJson, runPluginBin, type ComponentSpec } from "@orch/core/plugin";
import plugin from "./index.js";
import { scheduleSnapshotKey, scheduledRunId } from "./manifests.js";

const USAGE = `Usage: orch-kubernetes-scheduled-run --schedule NAME [--orchestrator JSON] [--stack NAME] [--project-root DIR]
  The artifact store comes from $${ORCH_ENV.artifactStore}, the orchestrator from $${ORCH_ENV.orchestrator} (both set
  from the schedule's Secret), the Job name from $ORCH_JOB_NAME (else $HOSTNAME).
  SIGTERM stops the run only after orch run stop asked for it; otherwise the process exits 143 and the
  Job's replacement pod resumes the run.`;

export function main(argv: string[]): Promise<number> {
  return runPluginBin("orch-kubernetes-scheduled-run", USAGE, async () => {
    const { values } = parseArgs({
      args: argv,
      options: { schedule: { type: "string" }, orchestrator: { type: "string" }, stack: { type: "string" }, "project-root": { type: "string" } },
      strict: true,
    });
    const orchestratorSpec = values.orchestrator ?? process.env[ORCH_ENV.orchestrator];
    const storeSpec = process.env[ORCH_ENV.artifactStore];
    if (!values.schedule || !orchestratorSpec || !storeSpec) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const projectRoot = values["project-root"] ?? process.cwd();
    const jobName = process.env.ORCH_JOB_NAME || (process.env.HOSTNAME ?? "").replace(/-[a-z0-9]{5}$/, "");
    if (!jobName) throw new OrchError("E_USAGE", { message: "Cannot tell which Job this pod belongs to.", hint: "Set ORCH_JOB_NAME (the CronJob template does, from the job-name label)." });
    const runId = scheduledRunId(jobName);
    const { store } = await createArtifactStore(JSON.parse(storeSpec) as ComponentSpec<never>, projectRoot);
    const template = await readJson(store, scheduleSnapshotKey(values.schedule));
    if (!template) {
      throw new OrchError("E_RUN_NOT_FOUND", {
        message: `Schedule ${values.schedule} has no snapshot in the artifact store at ${store.uri}.`,
        hint: "Create the schedule again (orch schedule create / pipeline deploy), which stores its snapshot.",
      });
    }
    const snapshot = parseSnapshot(template, `schedule ${values.schedule}`);
    const config = parseComponentConfig(plugin, (JSON.parse(orchestratorSpec) as ComponentSpec).config);
    process.stdout.write(`scheduled run ${runId} of ${snapshot.pipeline.name} (Job ${jobName})\n`);
    return orchestrate({
      store,
      runId,
      projectRoot,
      snapshot,
      orchestrator: { plugin, config },
      resume: true,
      ...(values.stack ? { stack: values.stack } : {}),
      ...(config.maxParallelism ? { maxParallelism: config.maxParallelism } : {}),
    });
  });
}
