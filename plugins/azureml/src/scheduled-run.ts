/**
 * `orch-azureml-run`: the setup and finalize nodes of the pipeline jobs an Azure ML schedule fires
 * (core's plugin kit, `scheduledRunTask`, as kubeflow and vertex use it). The run id comes from
 * `AZUREML_ROOT_RUN_ID` (through `$ORCH_RUN_ID_FROM`); setup also records which pipeline job the run is.
 */
import { scheduledRunTask } from "@orch/core/plugin";
import { FLAVOR } from "./config.js";
import { ROOT_RUN_ID_ENV } from "./pipeline-job.js";
import { jobRefKey, type JobRef } from "./scheduled-runs.js";

export function main(argv: string[]): Promise<number> {
  return scheduledRunTask(argv, {
    bin: "orch-azureml-run",
    flavor: FLAVOR,
    async onSetup({ store, runId }) {
      const jobName = process.env[ROOT_RUN_ID_ENV];
      if (jobName) await store.write(jobRefKey(runId), `${JSON.stringify({ jobName } satisfies JobRef)}\n`);
    },
  });
}
