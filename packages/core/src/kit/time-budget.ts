import { retryDelayMs } from "../settings/index.js";
import type { SnapshotStep } from "../snapshot/snapshot.js";

/** Seconds added to a step's time budget for process or container start-up (default). */
export const DEFAULT_TIME_BUDGET_GRACE_SECONDS = 30;

/**
 * How long, in milliseconds, the process running a step with a `timeout` may live: every attempt's
 * timeout, the retry delays between attempts, and a grace for start-up. Undefined for a step without
 * a timeout. The step runner inside enforces the timeout and records it; a flavor uses this budget
 * only to end a process, container or Job kept alive by a step function that ignored its abort
 * signal (Docker kill, Kubernetes `activeDeadlineSeconds`).
 */
export function stepTimeBudget(step: Pick<SnapshotStep, "settings">, options: { graceSeconds?: number } = {}): number | undefined {
  const { timeout, retry } = step.settings;
  if (timeout === undefined) return undefined;
  let total = timeout * 1000 * (retry.maxRetries + 1);
  for (let attempt = 1; attempt <= retry.maxRetries; attempt++) total += retryDelayMs(retry, attempt);
  return total + (options.graceSeconds ?? DEFAULT_TIME_BUDGET_GRACE_SECONDS) * 1000;
}
