/**
 * `orch-vertex-scheduled-run`: the first task of every run a Vertex schedule starts. Vertex names the
 * run (the PipelineJob id, passed as --run-id), so this copies the schedule's snapshot to the run's
 * journal and records the run as running; the step tasks that follow read it from there. The run's
 * end is written by whoever asks about it next (`orch run show` / `orch run list` through status()).
 */
import { parseArgs } from "node:util";
import {
  ORCH_ENV,
  OrchError,
  assertValidRunId,
  createArtifactStore,
  journalKeys,
  parseSnapshot,
  readJson,
  readRunRecord,
  runPluginBin,
  serializeSnapshot,
  writeRunRecord,
  type ComponentSpec,
} from "@orch/core/plugin";
import { scheduleSnapshotKey } from "./schedule-keys.js";

const USAGE = `Usage: orch-vertex-scheduled-run --schedule KEY --run-id ID [--project-root DIR]
  The artifact store comes from $${ORCH_ENV.artifactStore}.`;

export function main(argv: string[]): Promise<number> {
  return runPluginBin("orch-vertex-scheduled-run", USAGE, async () => {
    const { values } = parseArgs({ args: argv, options: { schedule: { type: "string" }, "run-id": { type: "string" }, "project-root": { type: "string" } }, strict: true });
    const storeSpec = process.env[ORCH_ENV.artifactStore];
    const runId = values["run-id"];
    if (!values.schedule || !runId || !storeSpec) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    assertValidRunId(runId);
    const { store } = await createArtifactStore(JSON.parse(storeSpec) as ComponentSpec<never>, values["project-root"] ?? process.cwd());
    const template = await readJson(store, scheduleSnapshotKey(values.schedule));
    if (!template) {
      throw new OrchError("E_RUN_NOT_FOUND", {
        message: `Schedule ${values.schedule} has no snapshot in the artifact store at ${store.uri}.`,
        hint: "Create the schedule again (orch schedule create), which stores its snapshot.",
      });
    }
    const snapshot = parseSnapshot(template, `schedule ${values.schedule}`);
    // A retried task finds the run already started: nothing to do.
    if (!(await readRunRecord(store, runId))) {
      await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
      await writeRunRecord(store, {
        runId,
        pipeline: snapshot.pipeline.name,
        pipelineHash: snapshot.pipeline.hash,
        status: "running",
        startedAt: new Date().toISOString(),
        orchestrator: "vertex",
        parameters: snapshot.parameters,
      });
    }
    process.stdout.write(`scheduled run ${runId} of ${snapshot.pipeline.name} (schedule ${values.schedule})\n`);
    return 0;
  });
}
