import { describe, expect, it } from "vitest";
import { RetryPolicySchema, retryDelayMs } from "./retry.js";

describe("RetryPolicySchema", () => {
  it("defaults to no retries and no delay", () => {
    expect(RetryPolicySchema.parse({})).toEqual({ maxRetries: 0, delay: 0, backoff: 1 });
  });

  it.each([{ maxRetries: -1 }, { maxRetries: 1.5 }, { delay: -1 }, { backoff: 0.5 }, { maxDelay: -1 }, { retries: 2 }])(
    "rejects %j",
    (input) => {
      expect(RetryPolicySchema.safeParse(input).success).toBe(false);
    },
  );
});

describe("retryDelayMs", () => {
  const policy = RetryPolicySchema.parse({ maxRetries: 5, delay: 5, backoff: 2 });

  it.each([
    [1, 5_000],
    [2, 10_000],
    [3, 20_000],
    [4, 40_000],
  ])("waits delay * backoff^(attempt-1): retry %i after %i ms", (attempt, ms) => {
    expect(retryDelayMs(policy, attempt)).toBe(ms);
  });

  it("caps each delay at maxDelay", () => {
    const capped = { ...policy, maxDelay: 15 };
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(capped, attempt))).toEqual([5_000, 10_000, 15_000, 15_000]);
  });

  it("keeps the delay constant with the default backoff and handles sub-second delays", () => {
    const constant = RetryPolicySchema.parse({ maxRetries: 3, delay: 0.25 });
    expect([1, 2, 3].map((attempt) => retryDelayMs(constant, attempt))).toEqual([250, 250, 250]);
  });

  it("rejects attempt numbers below 1", () => {
    expect(() => retryDelayMs(policy, 0)).toThrow(RangeError);
  });
});
