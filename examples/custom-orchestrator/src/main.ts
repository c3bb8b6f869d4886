/**
 * Runs the sample pipeline on the subprocess orchestrator, named by flavor only: core resolves
 * `subprocess` to the package orch-plugin-subprocess installed in this project. Nothing in orch knows
 * about that plugin.
 *
 *   pnpm start                    (or: node --conditions=@orch/source --import tsx src/main.ts)
 *   ORCH_ARTIFACTS=/tmp/a pnpm start
 */
import { fileURLToPath } from "node:url";
import { defineStack, localArtifactStore } from "@orch/core";
import { topWords, wordStats } from "./pipeline.js";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));

// The same component `orch orchestrator register procs --flavor=subprocess --max-parallelism=2` stores.
const stack = defineStack({
  name: "procs",
  orchestrator: { name: "procs", flavor: "subprocess", config: { maxParallelism: 2 } },
  artifactStore: localArtifactStore({ path: process.env.ORCH_ARTIFACTS ?? ".orch/artifacts" }),
});

const result = await wordStats.run({ stack, projectRoot });
for (const record of result.steps) {
  process.stdout.write(`${record.stepId.padEnd(16)} ${record.status.padEnd(10)} pid ${String(record.metadata.pid ?? "-")}\n`);
}
process.stdout.write(`run ${result.runId}: ${result.status}\n`);
if (result.status === "succeeded") process.stdout.write(`top words: ${(await result.load(topWords)).join(", ")}\n`);
process.exitCode = result.status === "succeeded" ? 0 : 1;
