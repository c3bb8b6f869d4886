// Test helpers: a temp artifact store and an in-process orchestrator built on core's public API alone
// (core's tests cannot depend on @orch/plugin-local, which depends on core).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defineOrchestrator } from "../kit/define-orchestrator.js";
import { defineStack, type StackDefinition } from "../plugins/stack.js";
import { runOnCoreScheduler } from "../kit/run-on-core-scheduler.js";

export const inProcessPlugin = defineOrchestrator({
  flavor: "test-in-process",
  configSchema: z.object({ maxParallelism: z.number().int().min(1).default(8) }).strict(),
  capabilities: { dynamic: true, resources: "recorded", parallel: true },
  runtime: async () => ({
    createOrchestrator: (config: { maxParallelism: number }, context) => ({
      flavor: "test-in-process",
      submit: async (snapshot, submit) => runOnCoreScheduler(snapshot, { plugin: context, submit, flavor: "test-in-process", maxParallelism: config.maxParallelism }),
    }),
  }),
});

export function tempDir(prefix = "orch-core-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testStack(artifactsPath: string, maxParallelism = 8): StackDefinition {
  return defineStack({
    name: "test",
    orchestrator: { flavor: "test-in-process", plugin: inProcessPlugin, config: { maxParallelism } },
    artifactStore: { flavor: "local", config: { path: artifactsPath } },
  });
}

/** Run options for a throwaway project: its own store, no signal handlers, core's folder as root. */
export function runIn(dir: string, maxParallelism = 8) {
  return { stack: testStack(join(dir, "artifacts"), maxParallelism), projectRoot: dir, handleSignals: false } as const;
}
