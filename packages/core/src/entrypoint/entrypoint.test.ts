import { execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { compile, serializeSnapshot } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readRunRecord, readStepRecord } from "../store/journal.js";
import { loadArtifact } from "../artifacts/artifact-io.js";
import { newRunId } from "../ids.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { arithmetic } from "../__fixtures__/pipelines.js";
import { gated } from "../__fixtures__/gated-pipeline.js";
import { retrying } from "../__fixtures__/retrying-pipeline.js";
import { requestRunStop } from "../run/stop-request.js";

const coreRoot = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(coreRoot, "src/entrypoint/bin.ts");

/** Runs the real orch-entrypoint in a child process, the way a container flavor starts it. */
async function entrypoint(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--conditions=@orch/source", "--import", "tsx", bin, ...args], { cwd: coreRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function storedRun(params: { count: number } | { gate: string }, dir = tempDir("orch-entrypoint-")) {
  const store = createLocalArtifactStore(join(dir, "artifacts"));
  const snapshot = "gate" in params ? compile(gated, params, { projectRoot: coreRoot }) : compile(arithmetic, params, { projectRoot: coreRoot });
  const runId = newRunId();
  await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
  const storeFlag = JSON.stringify({ flavor: "local", config: { path: store.uri } });
  return { store, snapshot, runId, common: ["--run-id", runId, "--artifact-store", storeFlag, "--project-root", coreRoot] };
}

describe("orch-entrypoint", () => {
  it("executes a stored snapshot step by step, each step in its own process", async () => {
    const { store, snapshot, runId, common } = await storedRun({ count: 4 });
    for (const stepId of snapshot.order) {
      const result = await entrypoint(["step", ...common, "--step", stepId]);
      expect(result.stdout + result.stderr).toContain(`step ${stepId}: succeeded`);
      expect(result.code).toBe(0);
    }
    const square = await readStepRecord(store, runId, "square");
    expect(await loadArtifact(store, square!.outputs.output!.artifactId)).toBe(100); // (1+2+3+4)^2
    const pid = await readStepRecord(store, runId, "pid");
    const childPid = await loadArtifact<number>(store, pid!.outputs.output!.artifactId);
    expect(childPid).not.toBe(process.pid);
  });

  it("takes the run id from the variable $ORCH_RUN_ID_FROM names (a run the backend named), and refuses when it is unset", async () => {
    const { store, snapshot, runId, common } = await storedRun({ count: 2 });
    const withoutRunId = common.slice(2);
    const first = snapshot.order[0]!;
    const ran = await entrypoint(["step", ...withoutRunId, "--step", first], { ORCH_RUN_ID_FROM: "BACKEND_JOB_NAME", BACKEND_JOB_NAME: runId });
    expect(ran.stdout + ran.stderr).toContain(`step ${first}: succeeded`);
    expect((await readStepRecord(store, runId, first))?.status).toBe("succeeded");
    const unset = await entrypoint(["step", ...withoutRunId, "--step", first], { ORCH_RUN_ID_FROM: "BACKEND_JOB_NAME" });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("$BACKEND_JOB_NAME is not set");
  });

  it("refuses a step whose upstream has not run yet, exiting 1 with the reason", async () => {
    const { store, runId, common } = await storedRun({ count: 2 });
    const result = await entrypoint(["step", ...common, "--step", "sum_numbers"]);
    expect(result.code).toBe(1);
    expect((await readStepRecord(store, runId, "sum_numbers"))?.error?.message).toContain('needs output "output" of step "make_numbers"');
  });

  it("runs only the attempt ORCH_ATTEMPT names when the backend retries the step itself", async () => {
    const dir = tempDir("orch-entrypoint-");
    const trace = join(dir, "attempts.txt");
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const snapshot = compile(retrying, { trace }, { projectRoot: coreRoot });
    const runId = newRunId();
    await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
    const common = ["step", "--run-id", runId, "--artifact-store", JSON.stringify({ flavor: "local", config: { path: store.uri } }), "--project-root", coreRoot, "--step", "always_fails"];
    const second = await entrypoint(common, { ORCH_ATTEMPT: "2" });
    expect(second.code).toBe(1);
    expect(readFileSync(trace, "utf8")).toBe("attempt 2\n");
    expect((await readStepRecord(store, runId, "always_fails"))?.attempts).toBe(2);
    // Without it, the process runs the whole retry policy (3 attempts).
    writeFileSync(trace, "");
    expect((await entrypoint(common)).code).toBe(1);
    expect(readFileSync(trace, "utf8")).toBe("attempt 1\nattempt 2\nattempt 3\n");
    const bad = await entrypoint(common, { ORCH_ATTEMPT: "zero" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("ORCH_ATTEMPT must be a whole number");
  });

  it("runs the whole scheduler with `orchestrate`", async () => {
    const { store, runId, common } = await storedRun({ count: 3 });
    const result = await entrypoint(["orchestrate", ...common]);
    expect(result.code).toBe(0);
    expect((await readRunRecord(store, runId))?.status).toBe("succeeded");
    const square = await readStepRecord(store, runId, "square");
    expect(await loadArtifact(store, square!.outputs.output!.artifactId)).toBe(36);
  });

  it("gives usage errors exit code 2 and a hint", async () => {
    const result = await entrypoint(["step", "--run-id", "x"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--artifact-store (or ORCH_ARTIFACT_STORE) is required.");
    expect(result.stderr).toContain("hint: Run orch-entrypoint --help");
  });

  describe("SIGTERM: a stop only when orch run stop asked for it, otherwise a retriable shutdown", () => {
    /** Starts `orch-entrypoint step` on a gated step, waits until it runs, sends SIGTERM and returns the exit code. */
    async function terminateRunningStep(withStopRequest: boolean) {
      const dir = tempDir("orch-entrypoint-term-");
      const gate = join(dir, "gate-never-opened");
      const { store, runId, common } = await storedRun({ gate }, dir);
      const child = spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", bin, "step", ...common, "--step", "wait_for_gate"], { cwd: coreRoot, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      for (let i = 0; i < 300 && (await readStepRecord(store, runId, "wait_for_gate"))?.status !== "running"; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await readStepRecord(store, runId, "wait_for_gate"))?.status).toBe("running");
      if (withStopRequest) await requestRunStop(store, runId);
      child.kill("SIGTERM");
      const code = await exited;
      return { code, output, record: await readStepRecord(store, runId, "wait_for_gate"), gate };
    }

    it("exits 143 and records nothing final when SIGTERM comes without a stop request (pod deletion, drain, eviction)", async () => {
      const { code, output, record } = await terminateRunningStep(false);
      expect(code).toBe(143);
      expect(output).toContain("SIGTERM without a stop request");
      // Not "stopped": the replacement pod runs the step again and the run goes on.
      expect(record?.status).toBe("running");
    });

    it("stops the step (exit 130, recorded stopped) when orch run stop asked for it first", async () => {
      const { code, record } = await terminateRunningStep(true);
      expect(code).toBe(130);
      expect(record?.status).toBe("stopped");
    });
  });
});
