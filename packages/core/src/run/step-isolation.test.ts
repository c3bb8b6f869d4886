// Regression tests for issue 9 (items 9 and 12): timeouts end synchronous work; step output lands in the step log.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { busyPipeline, doublePipeline, dynamicDoubling, flakyPipeline, quitterPipeline, spinPipeline } from "../__fixtures__/isolated-steps.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { findProjectRoot } from "../project.js";

const root = findProjectRoot();
const options = (dir: string) => ({ ...runIn(dir), projectRoot: root });
const stepLog = (dir: string, runId: string, stepId: string) => readFileSync(join(dir, "artifacts/runs", runId, "logs", `${stepId}.log`), "utf8");

describe("step timeouts on synchronous work", () => {
  it("fails a step whose synchronous work outlasts its timeout, on every attempt", async () => {
    const dir = tempDir();
    const trace = join(dir, "trace.txt");
    writeFileSync(trace, "");
    process.env.ORCH_TEST_TRACE = trace;
    try {
      const result = await busyPipeline.run(options(dir));
      expect(result.status).toBe("failed");
      expect(result.step("busy")).toMatchObject({ status: "failed", attempts: 2, error: { code: "E_STEP_TIMEOUT", message: 'Step "busy" attempt 2 timed out after 1s.' } });
      expect(readFileSync(trace, "utf8")).toBe("busy 1\nbusy 2\n");
    } finally {
      delete process.env.ORCH_TEST_TRACE;
    }
  });

  it("ends a for(;;) step with a timeout", async () => {
    const dir = tempDir();
    const result = await spinPipeline.run(options(dir));
    expect(result.step("spin")).toMatchObject({ status: "failed", error: { code: "E_STEP_TIMEOUT" } });
  }, 20_000);

  it("stops a busy-looping step with a timeout when the run is stopped", async () => {
    const dir = tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    // A timeout far away: only the stop can end it.
    const result = await spinPipeline.run({ ...options(dir), signal: controller.signal });
    expect(result.status).toBe("stopped");
    expect(result.step("spin")?.status).toBe("stopped");
  }, 20_000);

  it("runs an isolated step with inputs, outputs, logger, metadata and console output", async () => {
    const dir = tempDir();
    const result = await doublePipeline.run(options(dir));
    expect(result.status).toBe("succeeded");
    expect(await result.load("double")).toEqual([2, 4, 6]);
    expect(result.step("double")?.metadata).toEqual({ isolated: true });
    const log = stepLog(dir, result.runId, "double");
    expect(log).toMatch(/OUT   doubling 3 values/);
    expect(log).toMatch(/INFO  via the logger/);
    expect(log).not.toMatch(/running in-process/);
  });
});

describe("failures of isolated steps", () => {
  it("retries an isolated step that threw, keeping the error in its log", async () => {
    const dir = tempDir();
    const result = await flakyPipeline.run(options(dir));
    expect(result.step("flaky")).toMatchObject({ status: "succeeded", attempts: 2 });
    expect(await result.load("flaky")).toBe("second attempt");
    expect(stepLog(dir, result.runId, "flaky")).toMatch(/attempt 1 failed: Error: first attempt fails/);
  });

  it("fails a step that exits its worker, saying so", async () => {
    const dir = tempDir();
    const result = await quitterPipeline.run(options(dir));
    expect(result.step("quitter")).toMatchObject({ status: "failed", error: { code: "E_STEP_FAILED" } });
    expect(result.step("quitter")?.error?.message).toMatch(/exit code 3.*process\.exit/);
  });
});

describe("a user's script that calls pipeline.run()", () => {
  it("ends soon after a step timed out while awaiting a 30 s timer (its worker took the timer with it)", async () => {
    const dir = tempDir();
    const script = fileURLToPath(new URL("../__fixtures__/sleepy-script.ts", import.meta.url));
    const child = spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", script], { cwd: root, env: { ...process.env, ORCH_TEST_DIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    let ended = true;
    const timer = setTimeout(() => {
      ended = false;
      child.kill("SIGKILL");
    }, 20_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve)).finally(() => clearTimeout(timer));
    expect(ended, "the script was still alive 20 s later").toBe(true);
    expect(code).toBe(0);
    expect(stdout).toMatch(/run failed: E_STEP_TIMEOUT/);
  }, 30_000);
});

describe("isolated steps in dynamic pipelines", () => {
  it("runs a step with a timeout that the pipeline function discovers at run time", async () => {
    const dir = tempDir();
    const result = await dynamicDoubling.run(options(dir));
    expect(result.status).toBe("succeeded");
    expect(await result.load("double")).toEqual([2, 4, 6]);
    expect(stepLog(dir, result.runId, "double")).not.toMatch(/running in-process/);
  });
});

describe("step output in the step log", () => {
  // (vitest replaces `console`, so this test writes to the streams console uses; the CLI tests use console itself)
  it("puts what each of two parallel steps writes to stdout and stderr in its own log", async () => {
    const dir = tempDir();
    const talk = step({ name: "talk", cache: false }, async (who: string) => {
      for (let i = 0; i < 3; i++) {
        process.stdout.write(`${who} says ${i}\n`);
        await new Promise((r) => setTimeout(r, 5));
      }
      process.stderr.write(`${who} complains\n`);
      process.stdout.write(`${who} partial`);
      process.stdout.write(" line\n");
      return who;
    });
    const result = await pipeline({ name: "talkers" }, () => {
      talk("alice");
      talk("bob");
    }).run(runIn(dir));
    expect(result.status).toBe("succeeded");
    const alice = stepLog(dir, result.runId, "talk");
    const bob = stepLog(dir, result.runId, "talk_2");
    for (const [log, me, other] of [[alice, "alice", "bob"], [bob, "bob", "alice"]] as const) {
      expect(log).toMatch(new RegExp(`OUT   ${me} says 0\\n.*OUT   ${me} says 1\\n.*OUT   ${me} says 2\\n`, "s"));
      expect(log).toMatch(new RegExp(`ERR   ${me} complains`));
      expect(log).toMatch(new RegExp(`OUT   ${me} partial line\\n`));
      expect(log).not.toMatch(other);
    }
  });
});
