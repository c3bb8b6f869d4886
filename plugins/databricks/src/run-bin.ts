/**
 * `orch-databricks-run start|finish --run-id ID --job NAME [--project-root DIR]`: what the start and
 * finish tasks of an orch job run (see run-tasks.ts). The artifact store comes from $ORCH_ARTIFACT_STORE.
 */
import { parseArgs } from "node:util";
import { ORCH_ENV, assertValidRunId, createArtifactStore, exitCodeFor, runPluginBin, type ComponentSpec } from "@orch/core/plugin";
import { finishRun, startRun } from "./run-tasks.js";

const USAGE = `Usage: orch-databricks-run start|finish --run-id ID --job NAME [--project-root DIR]
  start   records the run (a scheduled run first gets its schedule's snapshot)
  finish  records the run's outcome from its step records (exit 0 when it succeeded)
  The artifact store comes from $${ORCH_ENV.artifactStore}.`;

export function main(argv: string[]): Promise<number> {
  return runPluginBin("orch-databricks-run", USAGE, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: { "run-id": { type: "string" }, job: { type: "string" }, "project-root": { type: "string" } }, allowPositionals: true, strict: true });
    const command = positionals[0];
    const storeSpec = process.env[ORCH_ENV.artifactStore];
    if ((command !== "start" && command !== "finish") || !values["run-id"] || !storeSpec) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const runId = values["run-id"];
    assertValidRunId(runId);
    const { store } = await createArtifactStore(JSON.parse(storeSpec) as ComponentSpec<never>, values["project-root"] ?? process.cwd());
    const log = (line: string) => void process.stdout.write(`${line}\n`);
    if (command === "start") {
      await startRun(store, runId, values.job ?? "", log);
      return 0;
    }
    return exitCodeFor((await finishRun(store, runId, log)).status);
  });
}
