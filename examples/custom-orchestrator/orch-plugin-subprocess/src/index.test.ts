import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { RunObserver } from "@orch/core";
import { testOrchestratorPlugin } from "@orch/testkit";
import { diamond } from "@orch/testkit/fixtures";
import plugin from "./index.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));

describe("orchestrator: subprocess", () => {
  testOrchestratorPlugin({
    plugin,
    config: { maxParallelism: 4 },
    packageRoot,
    // This plugin has no npm dependencies; its "SDK" is child processes, which only runtime.ts may load.
    sdkModules: ["node:child_process"],
    additionalTests(context) {
      it("runs every step through orch-entrypoint in its own process", async () => {
        const lines: string[] = [];
        const observer: RunObserver = { logLine: (stepId, line) => void lines.push(`${stepId} ${line}`) };
        const storeDir = await context.tempDir("observed");
        const result = await diamond.run({ stack: context.stack(storeDir), projectRoot: context.projectRoot, observer, handleSignals: false });
        expect(result.status).toBe("succeeded");
        // `step <id>: <status>` is what orch-entrypoint prints when the step process ends.
        for (const id of ["tk_source", "tk_add_one", "tk_double", "tk_sum"]) expect(lines).toContain(`${id} step ${id}: succeeded`);
      });

      it("reports why a step process could not start", async () => {
        const broken = await plugin.create(
          { maxParallelism: 1, nodeOptions: ["--no-such-node-flag"], env: {} },
          { projectRoot: context.projectRoot, stackName: "t", artifactStore: await context.openStore(await context.tempDir("broken")) },
        );
        const { compilePipeline } = await import("@orch/core/host");
        const { snapshot } = compilePipeline(diamond, {}, { projectRoot: context.projectRoot });
        const handle = await broken.submit(snapshot, { runId: "run-broken-node-flag", signal: new AbortController().signal });
        const { run, steps } = await handle.wait();
        expect(run.status).toBe("failed");
        expect(steps.find((s) => s.stepId === "tk_source")?.error?.message).toMatch(/--no-such-node-flag/);
      });
    },
  });
});
