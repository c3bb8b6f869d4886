// Per-step cost of the ways a local step can run (issue 9): in-process (cannot be interrupted), in a
// worker thread that loads the step's module (what steps with a `timeout` use), and in a child
// `orch-entrypoint step` process. 20 no-op steps one after another; milliseconds per step.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// An internal bench of core's run loop: executeRun is in no public entry.
import { executeRun } from "../packages/core/src/run/execute-run.js";
import { createLocalArtifactStore, type StepLauncher } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import { twenty } from "./fixtures/noop-steps.js";
import { median, timeMs, type BenchResult } from "./measure.js";

const RUNS = 3;
const STEPS = 20;
const root = fileURLToPath(new URL("..", import.meta.url));
const entrypoint = join(root, "packages/core/src/entrypoint/bin.ts");

export async function run(): Promise<BenchResult[]> {
  const store = createLocalArtifactStore(mkdtempSync(join(tmpdir(), "orch-bench-isolation-")));
  const { snapshot, definitions } = compilePipeline(twenty, {}, { projectRoot: root });
  const child: StepLauncher = (request) =>
    new Promise((resolve) => {
      const args = ["step", "--run-id", request.runId, "--step", request.step.id, "--artifact-store", JSON.stringify(store.describe()), "--project-root", root];
      spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", entrypoint, ...args], { stdio: "ignore" }).on("exit", () => resolve({}));
    });
  const perStep = async (isolation: string, launch?: StepLauncher) => {
    process.env.ORCH_STEP_ISOLATION = isolation;
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      times.push(await timeMs(() => executeRun({ snapshot, runId: newRunId(), store, definitions, maxParallelism: 1, projectRoot: root, ...(launch ? { launch } : {}) })));
    }
    delete process.env.ORCH_STEP_ISOLATION;
    return median(times) / STEPS;
  };
  return [
    { name: "per step: in-process (steps without a timeout)", value: await perStep("none"), unit: "ms" },
    { name: "per step: worker thread loading the module (steps with a timeout)", value: await perStep("all"), unit: "ms" },
    { name: "per step: child orch-entrypoint step process", value: await perStep("none", child), unit: "ms" },
  ];
}
