import { OrchError, type RetryPolicy } from "@orch/core/plugin";

/** A KFP task's `retryPolicy` (PipelineTaskSpec.RetryPolicy in JSON form). */
export interface KfpRetryPolicy {
  maxRetryCount: number;
  backoffDuration: string;
  backoffFactor: number;
  backoffMaxDuration: string;
}

/** A protobuf Duration in JSON: seconds with up to millisecond precision, `"2.5s"`. */
export function duration(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

/** KFP's default backoffMaxDuration (one hour), written out so the IR says what happens. */
export const KFP_DEFAULT_BACKOFF_MAX_SECONDS = 3600;

/**
 * orch's RetryPolicy as KFP's. Delays match `delay * backoff^(n-1)`. KFP's backoffFactor defaults to 2
 * and its backoffMaxDuration (the time from the first attempt's start after which KFP stops retrying,
 * attempts included) to one hour, so both are always written: the factor as given; the max duration as
 * the whole budget of a step with a `timeout` (every attempt with its pod start-up grace, plus the
 * delays), else KFP's one hour. KFP has no per-delay cap: a `maxDelay` that would shorten a delay cannot
 * be expressed — refused, or a warning with `strict: false` (the delays then grow uncapped).
 */
export function toKfpRetryPolicy(
  retry: RetryPolicy,
  where: { step: string; flavor: string; timeout?: number; attemptGraceSeconds: number; strict?: boolean; warn?: (message: string) => void },
): KfpRetryPolicy | undefined {
  if (retry.maxRetries === 0) return undefined;
  let total = 0;
  for (let attempt = 1; attempt <= retry.maxRetries; attempt++) {
    const uncapped = retry.delay * retry.backoff ** (attempt - 1);
    total += uncapped;
    if (retry.maxDelay !== undefined && uncapped > retry.maxDelay) {
      const message = `Step "${where.step}": retry.maxDelay ${retry.maxDelay}s caps retry ${attempt}'s delay of ${uncapped}s, and KFP's retryPolicy cannot cap a single delay.`;
      if (where.strict === false) where.warn?.(`${message} The delays grow uncapped (strict: false).`);
      else {
        throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
          flavor: where.flavor,
          key: "retry.maxDelay",
          message,
          hint: "Lower retry.backoff or retry.maxRetries so no delay exceeds maxDelay, drop maxDelay, or submit with strict: false to accept uncapped delays.",
        });
      }
    }
  }
  return {
    maxRetryCount: retry.maxRetries,
    backoffDuration: duration(retry.delay),
    backoffFactor: retry.backoff,
    backoffMaxDuration: duration(
      where.timeout === undefined ? KFP_DEFAULT_BACKOFF_MAX_SECONDS : Math.ceil((where.timeout + where.attemptGraceSeconds) * (retry.maxRetries + 1) + total),
    ),
  };
}
