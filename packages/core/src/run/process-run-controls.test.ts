import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalArtifactStore } from "../store/local-store.js";
import { writeRunRecord, writeStepRecord, type RunRecord, type StepRecord } from "../store/journal.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { processRunControls } from "./process-run-controls.js";

let dir: string;
afterEach(async () => dir && rm(dir, { recursive: true, force: true }));

const run = (status: RunRecord["status"], pid = process.pid): RunRecord => ({ runId: "r1", pipeline: "p", pipelineHash: "h", status, startedAt: new Date().toISOString(), parameters: {}, host: hostname(), pid });
const stepRecord = (status: StepRecord["status"]): StepRecord => ({ runId: "r1", stepId: "s", name: "s", status, attempts: 1, startedAt: new Date().toISOString(), outputs: {}, metadata: {} });

async function storeWithRunningStep(): Promise<ArtifactStore> {
  dir = await mkdtemp(join(tmpdir(), "orch-controls-"));
  const store = createLocalArtifactStore(dir);
  await writeRunRecord(store, run("running"));
  await writeStepRecord(store, stepRecord("running"));
  await store.write("runs/r1/logs/s.log", "one\n");
  return store;
}

describe("processRunControls().logs", () => {
  // Issue 12: with a remote store, `orch run logs --follow` printed what was there and exited.
  it("follows a running step's log until its record says it finished", async () => {
    const store = await storeWithRunningStep();
    const lines: string[] = [];
    const following = (async () => {
      for await (const line of processRunControls(store).logs("r1", "s", { follow: true })) lines.push(line);
    })();
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(lines).toEqual(["one"]);
    await store.write("runs/r1/logs/s.log", "one\ntwo\nthr");
    await store.write("runs/r1/logs/s.log", "one\ntwo\nthree\n");
    await writeStepRecord(store, stepRecord("succeeded"));
    await following;
    expect(lines).toEqual(["one", "two", "three"]);
  });

  it("reads once without follow", async () => {
    const store = await storeWithRunningStep();
    const lines: string[] = [];
    for await (const line of processRunControls(store).logs("r1", "s")) lines.push(line);
    expect(lines).toEqual(["one"]);
  });

  it("stops following when the process driving the run is gone", async () => {
    const store = await storeWithRunningStep();
    await writeRunRecord(store, run("running", 2 ** 22 + 12345));
    const lines: string[] = [];
    for await (const line of processRunControls(store).logs("r1", "s", { follow: true })) lines.push(line);
    expect(lines).toEqual(["one"]);
  });
});
