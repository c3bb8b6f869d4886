import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineStack } from "@orch/core";
import { local } from "@orch/plugin-local";
import { RandomForestClassifier } from "ml-random-forest";
import { describe, expect, it } from "vitest";
import { irisTraining } from "./pipeline.js";
import { evaluateModel, promoteModel, trainModel } from "./steps.js";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));

describe("quickstart: iris training", () => {
  const artifacts = mkdtempSync(join(tmpdir(), "orch-quickstart-"));
  const options = {
    stack: defineStack({ name: "quickstart-test", orchestrator: local({ maxParallelism: 2 }), artifactStore: { flavor: "local", config: { path: artifacts } } }),
    projectRoot,
    handleSignals: false,
  };

  it("trains a classifier that beats the threshold and is promoted", async () => {
    const result = await irisTraining.run(options);
    expect(result.status).toBe("succeeded");
    expect(await result.load(evaluateModel)).toBeGreaterThan(0.85);
    expect(await result.load(trainModel)).toBeInstanceOf(RandomForestClassifier);
    expect((await result.load(promoteModel)).promoted).toBe(true);
  });

  it("reuses every step on a second run, and re-runs only promotion when the threshold changes", async () => {
    const again = await irisTraining.run(options);
    expect(again.steps.every((s) => s.status === "cached")).toBe(true);
    const stricter = await irisTraining.run({ ...options, params: { threshold: 1 } });
    expect(Object.fromEntries(stricter.steps.map((s) => [s.stepId, s.status]))).toEqual({
      load_data: "cached",
      split_data: "cached",
      train_model: "cached",
      evaluate_model: "cached",
      promote_model: "succeeded",
    });
  });

  it("refuses invalid parameters before running anything", async () => {
    await expect(irisTraining.run({ ...options, params: { testFraction: 2 } })).rejects.toThrow(/testFraction/);
  });
});

describe("quickstart: the main script (pnpm quickstart)", () => {
  const script = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ["--conditions=@orch/source", "--import", "tsx", "src/main.ts", ...args], { cwd: projectRoot, env: { ...process.env, ...env }, encoding: "utf8" });

  it("runs with ORCH_HOME outside the project: plugins come from the project, state goes to ORCH_HOME", () => {
    const home = join(mkdtempSync(join(tmpdir(), "orch-quickstart-home-")), ".orch");
    const run = script([], { ORCH_HOME: home });
    expect(run.stderr).not.toMatch(/Tried:/);
    expect(run.status).toBe(0);
    expect(readdirSync(join(home, "artifacts", "runs"))).toHaveLength(1);
  });

  it("prints an OrchError as error:/hint: without a stack trace, exit code 2", () => {
    const home = join(mkdtempSync(join(tmpdir(), "orch-quickstart-home-")), ".orch");
    const run = script(["testFraction=2"], { ORCH_HOME: home });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error: .*testFraction/m);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
