import { processRunControls } from "../run/process-run-controls.js";
import type { ArtifactStore } from "../store/artifact-store.js";

export interface ReadStepLogOptions {
  /** Keep reading new lines until the step (or the run) has ended. */
  follow?: boolean;
  /** Lines already shown from the backend's own logs (pod logs): left out, so nothing is printed twice. */
  skip?: ReadonlySet<string>;
}

/**
 * A step's log from the journal (runs/<runId>/logs/<stepId>.log), line by line: what every flavor
 * can show, and what a flavor shows after its backend's logs are gone (pods deleted by their TTL,
 * containers removed). With `follow`, new complete lines as the step writes them, until its record
 * (or the run) says it ended.
 */
export async function* readStepLog(store: ArtifactStore, runId: string, stepId: string, options: ReadStepLogOptions = {}): AsyncGenerator<string> {
  for await (const line of processRunControls(store).logs(runId, stepId, { follow: options.follow ?? false })) {
    if (!options.skip?.has(line)) yield line;
  }
}
