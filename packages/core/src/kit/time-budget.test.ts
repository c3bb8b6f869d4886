import { describe, expect, it } from "vitest";
import { MergedStepSettingsSchema } from "../dsl/settings.js";
import { stepTimeBudget } from "./time-budget.js";

const settings = (input: Record<string, unknown>) => ({ settings: MergedStepSettingsSchema.parse({ flavors: {}, cache: true, retry: {}, ...input }) });

describe("stepTimeBudget", () => {
  it("is undefined for a step without a timeout: nothing ends its process early", () => {
    expect(stepTimeBudget(settings({ retry: { maxRetries: 3, delay: 5 } }))).toBeUndefined();
  });

  it("is the timeout plus the default 30 s grace for one attempt", () => {
    expect(stepTimeBudget(settings({ timeout: 10 }))).toBe(40_000);
  });

  it("adds every attempt's timeout and the backed-off delays between attempts", () => {
    // 3 attempts of 10 s; delays 2 s then 4 s (backoff 2); grace 5 s.
    expect(stepTimeBudget(settings({ timeout: 10, retry: { maxRetries: 2, delay: 2, backoff: 2 } }), { graceSeconds: 5 })).toBe(30_000 + 6_000 + 5_000);
  });

  it("caps delays at maxDelay", () => {
    // 4 attempts of 1 s; delays 10, 20→15, 40→15 (maxDelay 15); no grace.
    expect(stepTimeBudget(settings({ timeout: 1, retry: { maxRetries: 3, delay: 10, backoff: 2, maxDelay: 15 } }), { graceSeconds: 0 })).toBe(4_000 + 40_000);
  });
});
