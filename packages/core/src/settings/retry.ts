import { z } from "zod";

/** How a failed step is retried: `delay * backoff^(attempt-1)` seconds, capped at `maxDelay`. */
export const RetryPolicySchema = z
  .object({
    maxRetries: z.number().int().min(0).default(0).describe("Retries after the first failure; 0 disables retrying."),
    delay: z.number().min(0).default(0).describe("Seconds to wait before the first retry."),
    backoff: z.number().min(1).default(1).describe("Multiplier applied to the delay after each retry; 1 keeps it constant."),
    maxDelay: z.number().min(0).optional().describe("Upper bound in seconds for any single delay."),
  })
  .strict()
  .describe("Retry policy for a failing step.");

/** Retry policy with defaults applied. */
export type RetryPolicy = z.output<typeof RetryPolicySchema>;
/** Retry policy as a user may write it (every field optional). */
export type RetryPolicyInput = z.input<typeof RetryPolicySchema>;

/**
 * Milliseconds to wait before retry number `attempt` (1 = the first retry).
 * @throws RangeError when `attempt` is not a positive integer (a caller bug, not a user error).
 */
export function retryDelayMs(policy: Pick<RetryPolicy, "delay" | "backoff" | "maxDelay">, attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`retry attempt must be an integer >= 1, got ${attempt}`);
  }
  const seconds = policy.delay * policy.backoff ** (attempt - 1);
  const capped = policy.maxDelay === undefined ? seconds : Math.min(seconds, policy.maxDelay);
  return Math.round(capped * 1000);
}
