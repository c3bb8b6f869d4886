/**
 * `orch-kubeflow-run`: the setup and finalize tasks of a run the backend's scheduler started, shared with the other
 * KFP-based flavor (`@orch/kfp`'s scheduledRunTask).
 */
import { scheduledRunTask } from "@orch/kfp";

export function main(argv: string[]): Promise<number> {
  return scheduledRunTask(argv, { bin: "orch-kubeflow-run", flavor: "kubeflow" });
}
