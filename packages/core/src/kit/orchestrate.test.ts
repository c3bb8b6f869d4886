import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readRunRecord, readStepRecords } from "../store/journal.js";
import { arithmetic } from "../__fixtures__/pipelines.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { orchestrate } from "./orchestrate.js";

const coreRoot = join(import.meta.dirname, "..", "..");

describe("orchestrate", () => {
  it("runs a snapshot it is given (a schedule's) in this process, stores it for restarts, and exits 0", async () => {
    const store = createLocalArtifactStore(join(tempDir(), "artifacts"));
    const snapshot = compile(arithmetic, { count: 3 }, { projectRoot: coreRoot });
    const lines: string[] = [];
    const code = await orchestrate({ store, runId: "sched-1", projectRoot: coreRoot, snapshot, stack: "in-cluster", log: (line) => void lines.push(line) });
    expect(code).toBe(0);
    expect(await store.exists(journalKeys.snapshot("sched-1"))).toBe(true);
    expect(await readRunRecord(store, "sched-1")).toMatchObject({ status: "succeeded", stack: "in-cluster" });
    expect((await readStepRecords(store, "sched-1")).map((s) => s.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    expect(lines).toContain("run sched-1: succeeded");
  });

  it("names the store when there is no snapshot to run", async () => {
    const store = createLocalArtifactStore(join(tempDir(), "artifacts"));
    await expect(orchestrate({ store, runId: "nothing", projectRoot: coreRoot, log: () => {} })).rejects.toMatchObject({ code: "E_RUN_NOT_FOUND", message: expect.stringContaining(store.uri) });
  });
});
