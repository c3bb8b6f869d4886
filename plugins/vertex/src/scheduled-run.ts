/**
 * `orch-vertex-run`: the setup and finalize tasks of a run the backend's scheduler started, shared with the other
 * flavors the backend schedules (core's plugin kit, `scheduledRunTask`).
 */
import { scheduledRunTask } from "@orch/core/plugin";

export function main(argv: string[]): Promise<number> {
  return scheduledRunTask(argv, { bin: "orch-vertex-run", flavor: "vertex" });
}
