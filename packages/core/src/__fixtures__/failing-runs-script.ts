// A long-lived host (like `orch schedule serve`) that calls pipeline.run() several times on an
// orchestrator whose create() throws, then idles until it is told to stop. Run as a child process by
// run-pipeline-signals.test.ts: one Ctrl-C (SIGINT) must end it, as it would without those runs.
import { join } from "node:path";
import { z } from "zod";
import { defineStack, pipeline, step } from "../index.js";
import { defineOrchestrator } from "../plugin.js";

const broken = defineOrchestrator({
  flavor: "broken",
  configSchema: z.object({}).strict(),
  // Everything else is the conservative default: not supported.
  capabilities: { resources: "recorded" },
  async create() {
    throw new Error("backend unavailable");
  },
});

const noop = step({ name: "noop" }, () => 1);
const tick = pipeline({ name: "tick" }, () => void noop());
const dir = process.env.ORCH_TEST_DIR!;
const stack = defineStack({ name: "broken", orchestrator: { flavor: "broken", plugin: broken, config: {} }, artifactStore: { flavor: "local", config: { path: join(dir, "artifacts") } } });

for (let i = 0; i < 5; i++) {
  // handleSignals defaults to true: each run adds its SIGINT/SIGTERM handlers and must remove them.
  await tick.run({ stack, projectRoot: dir }).catch((error: Error) => console.log(`run ${i}: ${error.message}`));
}
setInterval(() => {}, 1000); // idle like a scheduler waiting for the next tick
console.log(`ready sigint-listeners=${process.listenerCount("SIGINT")}`);
