import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { getStepContext } from "./step-context.js";

describe("step hooks", () => {
  it("can call getStepContext() in onSuccess and onFailure, also after an await", async () => {
    const dir = tempDir();
    const seen: string[] = [];
    const good = step(
      {
        name: "good",
        onSuccess: async (_ctx, value) => {
          await new Promise((r) => setTimeout(r, 5));
          const ctx = getStepContext();
          ctx.logger.info(`hook saw ${String(value)}`);
          ctx.addMetadata({ fromHook: true });
          seen.push(`success ${ctx.stepId} attempt ${ctx.attempt}`);
        },
      },
      () => 42,
    );
    const bad = step(
      {
        name: "bad",
        onFailure: (_ctx, error) => {
          seen.push(`failure ${getStepContext().stepId}: ${(error as Error).message}`);
        },
      },
      () => {
        throw new Error("nope");
      },
    );
    const result = await pipeline({ name: "hook_context", executionMode: "continue-on-failure" }, () => {
      good();
      bad();
    }).run(runIn(dir));
    expect(seen.sort()).toEqual(["failure bad: nope", "success good attempt 1"]);
    expect(result.step("good")?.metadata).toEqual({ fromHook: true });
    const log = readFileSync(join(dir, "artifacts/runs", result.runId, "logs/good.log"), "utf8");
    expect(log).toContain("hook saw 42");
    expect(log).not.toContain("hook failed");
  });
});
