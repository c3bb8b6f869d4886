import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compilePipeline } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readRunRecord, readStepRecord } from "../store/journal.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { executeRun } from "./execute-run.js";
import { processStartTime } from "./process-identity.js";
import { processRunControls } from "./process-run-controls.js";
import { acquireRunOwnership } from "./run-owner.js";

/** The pid of a process that has ended (and, for a moment at least, nobody reuses). */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!;
}

describe("run ownership", () => {
  it("refuses a second executor of a run while the first one runs, naming its pid", async () => {
    const dir = tempDir();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = step({ name: "slow" }, async () => {
      await gate;
      return 1;
    });
    const p = pipeline({ name: "owned" }, () => void slow());
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const { snapshot, definitions } = compilePipeline(p, {}, { projectRoot: dir });
    const first = executeRun({ snapshot, definitions, runId: "owned-1", store });
    await expect.poll(() => store.exists(journalKeys.run("owned-1"))).toBe(true);
    await expect(executeRun({ snapshot, definitions, runId: "owned-1", store, resume: true })).rejects.toMatchObject({
      code: "E_RUN_LOCKED",
      message: expect.stringContaining(`pid ${process.pid}`),
    });
    release();
    expect((await first).run.status).toBe("succeeded");
    // the lock goes with the owner
    expect(await store.exists(journalKeys.owner("owned-1"))).toBe(false);
  });

  it("takes over the lock of a dead owner, and of a live process that only reuses the pid", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const lockFile = join(dir, "runs", "r1", "owner.lock");
    mkdirSync(join(dir, "runs", "r1"), { recursive: true });
    const at = new Date().toISOString();
    writeFileSync(lockFile, JSON.stringify({ pid: deadPid(), host: hostname(), acquiredAt: at, renewedAt: at }));
    const owned = await acquireRunOwnership(store, "r1");
    expect(JSON.parse(readFileSync(lockFile, "utf8")).pid).toBe(process.pid);
    await owned.release();
    // pid 1 is alive, but did not start at this time: the pid was reused, the owner is gone
    writeFileSync(lockFile, JSON.stringify({ pid: 1, host: hostname(), startTime: "1", acquiredAt: at, renewedAt: at }));
    if (processStartTime(1) === undefined) return; // no /proc: only the pid can be compared
    const again = await acquireRunOwnership(store, "r1");
    expect(JSON.parse(readFileSync(lockFile, "utf8")).pid).toBe(process.pid);
    await again.release();
  });

  it("judges an owner on another host by its lease", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const old = new Date(Date.now() - 60_000).toISOString();
    await store.write(journalKeys.owner("r2"), JSON.stringify({ pid: 1, host: "elsewhere", acquiredAt: old, renewedAt: old }));
    const owned = await acquireRunOwnership(store, "r2", { leaseTtlMs: 500 });
    await owned.release();
    // a lease that keeps being renewed is a live owner
    const fresh = () => JSON.stringify({ pid: 1, host: "elsewhere", acquiredAt: old, renewedAt: new Date().toISOString() });
    await store.write(journalKeys.owner("r2"), fresh());
    const renew = setInterval(() => void store.write(journalKeys.owner("r2"), fresh()), 50);
    try {
      await expect(acquireRunOwnership(store, "r2", { leaseTtlMs: 2000 })).rejects.toMatchObject({ code: "E_RUN_LOCKED", message: expect.stringContaining("on elsewhere") });
    } finally {
      clearInterval(renew);
    }
  });
});

describe("run ids", () => {
  const one = step({ name: "one" }, () => 1);
  const p = pipeline({ name: "ids" }, () => void one());

  const bad = ["", "team/run1", "..", "a b", "$(id)", "x".repeat(1000), "-flag", "ünï"].map((id) => [id.length > 20 ? `${id.slice(0, 5)}… (${id.length} chars)` : JSON.stringify(id), id]);
  it.each(bad)("refuses the run id %s before anything is written", async (_label, runId) => {
    const dir = tempDir();
    await expect(p.run({ ...runIn(dir), runId })).rejects.toMatchObject({ code: "E_NAME_INVALID" });
    expect(await createLocalArtifactStore(join(dir, "artifacts")).list("runs/")).toEqual([]);
  });

  it("refuses a run id that is already taken, keeping the first run's journal", async () => {
    const dir = tempDir();
    const first = await p.run({ ...runIn(dir), runId: "nightly-1" });
    const other = pipeline({ name: "other" }, () => void one());
    await expect(other.run({ ...runIn(dir), runId: "nightly-1" })).rejects.toMatchObject({ code: "E_RUN_EXISTS", hint: expect.stringContaining("orch run resume nightly-1") });
    expect((await readRunRecord(first.artifactStore, "nightly-1"))?.pipeline).toBe("ids");
  });
});

describe("a run whose process is gone", () => {
  it("is stopped at once by stop(), without signalling the pid (which another process may now hold)", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const at = new Date().toISOString();
    await store.write(journalKeys.run("r3"), JSON.stringify({ runId: "r3", pipeline: "p", pipelineHash: "h", status: "running", startedAt: at, parameters: {}, host: hostname(), pid: 1, pidStartTime: "1" }));
    await store.write(journalKeys.step("r3", "a"), JSON.stringify({ runId: "r3", stepId: "a", name: "a", status: "running", attempts: 1, outputs: {}, metadata: {} }));
    if (processStartTime(1) === undefined) return; // no /proc: pid 1 would look alive
    const controls = processRunControls(store);
    expect(await controls.status("r3")).toBe("failed");
    await controls.stop("r3"); // would throw EPERM signalling pid 1 as a normal user
    expect((await readRunRecord(store, "r3"))?.status).toBe("stopped");
    // Written in the journal layout of the local store; the journal's line wins over the older object.
    expect((await readStepRecord(store, "r3", "a"))?.status).toBe("stopped");
  });
});

describe("local artifact store paths", () => {
  it("refuses a path under /proc at once (Node's mkdir -p loops forever there)", () => {
    expect(() => createLocalArtifactStore("/proc/orch-artifacts")).toThrow(expect.objectContaining({ code: "E_STORE_PATH_INVALID", message: expect.stringContaining("/proc") }));
    expect(() => createLocalArtifactStore("/proc/self/orch")).toThrow(expect.objectContaining({ code: "E_STORE_PATH_INVALID" }));
    expect(() => createLocalArtifactStore("/sys/orch")).toThrow(expect.objectContaining({ code: "E_STORE_PATH_INVALID" }));
  });

  it("refuses a path below a regular file, naming the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "x");
    expect(() => createLocalArtifactStore(join(dir, "file", "artifacts"))).toThrow(expect.objectContaining({ code: "E_STORE_PATH_INVALID", message: expect.stringContaining(`below ${join(dir, "file")}, which is a file`) }));
  });
});
