import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineStack, getStepContext, pipeline, step } from "@orch/core";
import { describe, expect, it } from "vitest";
import plugin, { local } from "./index.js";

function stackIn(dir: string, config: Parameters<typeof local>[0]) {
  return defineStack({ name: "local-test", orchestrator: local(config), artifactStore: { flavor: "local", config: { path: join(dir, "artifacts") } } });
}

let running = 0;
let peak = 0;
const work = step({ name: "work" }, async (i: number) => {
  running++;
  peak = Math.max(peak, running);
  await new Promise((r) => setTimeout(r, 15));
  running--;
  return i + getStepContext().attempt;
});
const fanOut = pipeline({ name: "fan_out" }, () => {
  for (let i = 0; i < 6; i++) work(i);
});

describe("orchestrator: local", () => {
  it("runs independent steps in parallel up to maxParallelism", async () => {
    peak = 0;
    const dir = mkdtempSync(join(tmpdir(), "orch-local-"));
    const result = await fanOut.run({ stack: stackIn(dir, { maxParallelism: 3 }), projectRoot: dir, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(peak).toBe(3);
  });

  it("runs strictly sequentially with maxParallelism 1, as ZenML's local orchestrator", async () => {
    peak = 0;
    const dir = mkdtempSync(join(tmpdir(), "orch-local-"));
    await fanOut.run({ stack: stackIn(dir, { maxParallelism: 1 }), projectRoot: dir, handleSignals: false });
    expect(peak).toBe(1);
  });

  it("rejects unknown config keys, naming the key", () => {
    const parsed = plugin.configSchema.safeParse({ max_parallelism: 2 });
    expect(parsed.success).toBe(false);
  });
});
