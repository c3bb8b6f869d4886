import type { Snapshot } from "@orch/core/plugin";

/**
 * The snapshot the step processes of a KFP run read: KFP retries a failed task itself (the IR's
 * retryPolicy, a new pod each time), so the step runner in the container makes a single attempt —
 * otherwise each KFP retry would run the runner's retries again. Everything else is unchanged.
 */
export function runnerSnapshot(snapshot: Snapshot): Snapshot {
  const steps: Snapshot["steps"] = {};
  for (const [id, step] of Object.entries(snapshot.steps)) steps[id] = { ...step, settings: { ...step.settings, retry: { ...step.settings.retry, maxRetries: 0 } } };
  return { ...snapshot, steps };
}
