/**
 * The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote)
 * run end to end on an airflow stack: the DAG file is placed in the DAGs folder, the loopback Airflow
 * parses it under the Python stand-ins, and its scheduler runs each task's container command.
 */
import { afterEach, describe, expect, it } from "vitest";
import { defineStack } from "@orch/core";
import { readRunRecord } from "@orch/core/plugin";
import { airflow } from "./index.js";
import { createHarness, quickstartRoot, type Harness } from "../test/harness.js";
import { pythonMissing } from "../test/python.js";
import { evaluateModel } from "../../../examples/quickstart/src/steps.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe.skipIf(pythonMissing)("the quickstart on airflow", () => {
  for (const [version, operator] of [
    [3, "kubernetes"],
    [2, "docker"],
  ] as const) {
    it(`runs end to end on Airflow ${version} with ${operator} operators and produces its model`, async () => {
      h = await createHarness({ version, config: { operator } });
      const stack = defineStack({ name: "airflow", orchestrator: airflow(h.config), artifactStore: { flavor: "local", config: { path: h.storePath } } });
      const seen: string[] = [];
      const result = await irisTraining.run({ stack, projectRoot: quickstartRoot, handleSignals: false, observer: { stepUpdated: (r: { stepId: string; status: string }) => void seen.push(`${r.stepId}:${r.status}`) } });
      expect(result.status).toBe("succeeded");
      expect(result.steps.map((s) => s.stepId).sort()).toEqual(["evaluate_model", "load_data", "promote_model", "split_data", "train_model"]);
      expect(await result.load(evaluateModel)).toBeGreaterThan(0.8);
      expect((await readRunRecord(h.store, result.runId))?.status).toBe("succeeded");
      const run = h.server.runs.get(`iris_training/${result.runId}`)!;
      expect(run.state).toBe("success");
      expect([...run.tasks.values()].map((t) => t.state)).toEqual(["success", "success", "success", "success", "success"]);
      expect(seen).toContain("train_model:succeeded");
    });
  }
});
