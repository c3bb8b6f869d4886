import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { readStopRequest, requestRunStop } from "../run/stop-request.js";
import { compilePipeline } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { readRunRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { runOnCoreScheduler } from "./run-on-core-scheduler.js";

const boom = step({ name: "boom", cache: false }, () => {
  throw new Error("boom");
});
const after = step({ name: "after_boom", cache: false }, () => "independent");
const twoBranches = pipeline({ name: "two_branches" }, () => {
  boom();
  after();
});

function setup() {
  const dir = tempDir();
  const store = createLocalArtifactStore(join(dir, "artifacts"));
  return { dir, store, plugin: { projectRoot: dir, stackName: "dev", artifactStore: store } };
}

describe("runOnCoreScheduler", () => {
  it("runs the snapshot in-process, records stack and flavor (as users write it), and applies an executionMode override", async () => {
    const { dir, store, plugin } = setup();
    const { snapshot, definitions } = compilePipeline(twoBranches, {}, { projectRoot: dir });
    const submit = { runId: "r1", signal: new AbortController().signal, definitions };
    const { run, steps } = await runOnCoreScheduler(snapshot, { plugin, submit, flavor: "local-docker", maxParallelism: 1, executionMode: "continue-on-failure" }).wait();
    expect(run).toMatchObject({ status: "failed", stack: "dev", orchestrator: "local_docker" });
    // continue-on-failure: the independent step still ran.
    expect(steps.find((s) => s.stepId === "after_boom")?.status).toBe("succeeded");
    expect(await readRunRecord(store, "r1")).toEqual(run);
  });

  it("ends the run stopped on abort() and runs cleanup before wait() resolves", async () => {
    const { dir, plugin } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = step({ name: "slow", cache: false }, async () => {
      await gate;
      return 1;
    });
    const next = step({ name: "next", cache: false }, (x: number) => x);
    const gated = pipeline({ name: "gated_kit" }, () => {
      next(slow());
    });
    const { snapshot, definitions } = compilePipeline(gated, {}, { projectRoot: dir });
    const order: string[] = [];
    const run = runOnCoreScheduler(snapshot, { plugin, submit: { runId: "r2", signal: new AbortController().signal, definitions }, flavor: "t", cleanup: async () => void order.push("cleanup") });
    setTimeout(() => {
      run.abort();
      release();
    }, 100);
    const outcome = await run.wait();
    order.push("wait");
    expect(outcome.run.status).toBe("stopped");
    expect(outcome.steps.find((s) => s.stepId === "next")?.status).not.toBe("succeeded");
    expect(order).toEqual(["cleanup", "wait"]);
  });

  it("stops when the submit signal aborts, and clears a spent stop request", async () => {
    const { dir, store, plugin } = setup();
    const { snapshot, definitions } = compilePipeline(twoBranches, {}, { projectRoot: dir });
    const controller = new AbortController();
    controller.abort(new Error("Ctrl-C"));
    await requestRunStop(store, "r3");
    const { run } = await runOnCoreScheduler(snapshot, { plugin, submit: { runId: "r3", signal: controller.signal, definitions }, flavor: "t" }).wait();
    expect(run.status).toBe("stopped");
    expect(await readStopRequest(store, "r3")).toBeUndefined();
  });
});
