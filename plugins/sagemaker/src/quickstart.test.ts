/**
 * The repository's quickstart (iris → split → random forest → evaluate → promote) on a sagemaker
 * stack with the s3 artifact store: compiled to a pipeline definition, created in the loopback
 * SageMaker, executed there (each Processing step's container command run as a process against
 * s3rver), its model loaded back through core.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineStack } from "@orch/core";
import { readRunRecord } from "@orch/core/plugin";
import { sagemaker } from "./index.js";
import { createHarness, quickstartProject, removeProject, s3Root, type Harness } from "../test/harness.js";

let h: Harness;
let project: string;
beforeAll(async () => {
  project = quickstartProject("quickstart-api-");
  h = await createHarness({ projectRoot: project });
}, 60_000);
afterAll(async () => {
  await h?.close();
  removeProject(project);
});

describe("the quickstart on sagemaker", () => {
  it("runs end to end as a SageMaker execution and produces its model", async () => {
    const { irisTraining } = await import(`${project}/src/pipeline.ts`);
    const { evaluateModel, trainModel } = await import(`${project}/src/steps.ts`);
    const stack = defineStack({ name: "sm", orchestrator: sagemaker(h.config), artifactStore: { flavor: "s3", config: h.storeConfig, package: `${s3Root}/src/index.ts` } as never });
    const result = await irisTraining.run({ stack, projectRoot: project, handleSignals: false, runId: "quickstart-sm-1" });
    expect(result.status).toBe("succeeded");
    expect(result.steps.map((s: { stepId: string }) => s.stepId).sort()).toEqual(["evaluate_model", "load_data", "promote_model", "split_data", "train_model"]);
    expect(await result.load(evaluateModel)).toBeGreaterThan(0.8);
    const model = await result.load(trainModel);
    expect(typeof model.predict).toBe("function");
    expect((await readRunRecord(h.store, result.runId))?.status).toBe("succeeded");
    // SageMaker ran the definition it was given: one execution, five processing steps, all succeeded.
    const [execution] = [...h.aws.executions.values()];
    expect(execution!.status).toBe("Succeeded");
    expect([...execution!.steps.values()].map((s) => s.status)).toEqual(Array(5).fill("Succeeded"));
    expect(execution!.parameters.OrchRunId).toBe("quickstart-sm-1");
  }, 180_000);
});
