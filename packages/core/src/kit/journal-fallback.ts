import type { Orchestrator } from "../plugins/plugin.js";
import { processRunControls } from "../run/process-run-controls.js";
import type { ArtifactStore } from "../store/artifact-store.js";

/**
 * Fills in `status` and `logs` from the run's journal when a runtime does not implement them: every
 * flavor writes the same journal (runs/<runId>/run.json, logs/<stepId>.log), so a flavor only
 * implements them when its backend knows more (container state, pod logs). `stop` has no such
 * fallback: only the backend can stop what it runs.
 */
export function withJournalFallbacks<O extends Orchestrator>(runtime: O, store: ArtifactStore): O {
  if (runtime.status && runtime.logs) return runtime;
  const journal = processRunControls(store);
  const fallbacks: Pick<Orchestrator, "status" | "logs"> = {
    ...(runtime.status ? {} : { status: journal.status }),
    ...(runtime.logs ? {} : { logs: journal.logs }),
  };
  // A frozen runtime (or one with read-only members) keeps its own object as the prototype.
  if (Object.isExtensible(runtime)) return Object.assign(runtime, fallbacks);
  return Object.assign(Object.create(runtime) as O, fallbacks);
}
