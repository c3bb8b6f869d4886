// Test helpers: a temp artifact store and an in-process orchestrator built on core's public API alone
// (core's tests cannot depend on @orch/plugin-local, which depends on core).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defineOrchestrator } from "../kit/define-orchestrator.js";
import { defineStack, type StackDefinition } from "../plugins/stack.js";
import { executeRun } from "../run/execute-run.js";

export const inProcessPlugin = defineOrchestrator({
  flavor: "test-in-process",
  configSchema: z.object({ maxParallelism: z.number().int().min(1).default(8) }).strict(),
  capabilities: {
    dynamic: true,
    schedules: { cron: false, interval: false, once: false, manage: false },
    retries: "runner",
    resources: "recorded",
    stop: false,
    logs: false,
    parallel: true,
    requires: { remoteArtifactStore: false, containerRegistry: false },
  },
  async create(config, context) {
    return {
      flavor: "test-in-process",
      async submit(snapshot, submit) {
        const done = executeRun({
          snapshot,
          runId: submit.runId,
          store: context.artifactStore,
          maxParallelism: config.maxParallelism,
          signal: submit.signal,
          ...(submit.definitions ? { definitions: submit.definitions } : {}),
          ...(submit.pipeline ? { pipeline: submit.pipeline } : {}),
          ...(submit.observer ? { observer: submit.observer } : {}),
        });
        return { runId: submit.runId, wait: () => done };
      },
    };
  },
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
