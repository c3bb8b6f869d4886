/**
 * The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote)
 * on a vertex stack with a gcs artifact store, end to end against the loopback servers: the plugin
 * compiles it to KFP IR and submits it through the real aiplatform SDK; the fake Vertex AI runs the
 * IR's tasks; the model is loaded back through core. The quickstart does not depend on the gcs plugin,
 * so its tasks load it by path (artifactStorePackage).
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { defineStack } from "@orch/core";
import { compilePipeline } from "@orch/core/host";
import { gcs } from "@orch/plugin-gcs";
import { KFP_CONFORMANCE_MISSING, createKfpValidator, findKfpConformance } from "@orch/kfp/testing";
import { vertex } from "./index.js";
import { createHarness, type Harness } from "../test/harness.js";
import { evaluateModel, trainModel } from "../../../examples/quickstart/src/steps.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";

const quickstartRoot = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url)).replace(/\/$/, "");
const gcsEntry = fileURLToPath(new URL("../../gcs/src/index.ts", import.meta.url));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("the quickstart on vertex", () => {
  it("compiles to IR that KFP's protos accept", async () => {
    h = await createHarness({ projectRoot: quickstartRoot, config: { artifactStorePackage: gcsEntry } });
    const { snapshot } = compilePipeline(irisTraining, {}, { projectRoot: quickstartRoot });
    const files = await h.runtime().compile!(snapshot);
    const conformance = findKfpConformance();
    if (!conformance) {
      console.warn(`[orch] vertex quickstart: ${KFP_CONFORMANCE_MISSING}`);
      return;
    }
    expect(createKfpValidator(conformance).validate(files["pipeline.yaml"]!)).toEqual([]);
    expect(files["pipeline.yaml"]).toContain("resourceCpuLimit");
  });

  it("runs end to end on a vertex + gcs stack and produces its model", async () => {
    h = await createHarness({ projectRoot: quickstartRoot, config: { artifactStorePackage: gcsEntry } });
    const stack = defineStack({ name: "vertex", orchestrator: vertex(h.config), artifactStore: gcs(h.storeConfig) });
    const result = await irisTraining.run({ stack, projectRoot: quickstartRoot, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(result.steps.map((s) => s.stepId).sort()).toEqual(["evaluate_model", "load_data", "promote_model", "split_data", "train_model"]);
    const model = await result.load(trainModel);
    expect(model).toBeTruthy();
    expect(await result.load(evaluateModel)).toBeGreaterThan(0.8);
    const job = [...h.vertex.jobs.values()][0]!;
    expect(job.state).toBe("PIPELINE_STATE_SUCCEEDED");
    expect(job.jobDetail.taskDetails.filter((t: { state: string }) => t.state === "SUCCEEDED")).toHaveLength(6);
    // The IR as Vertex received it is valid KFP IR.
    const conformance = findKfpConformance();
    if (conformance) expect(createKfpValidator(conformance).validate({ pipelineSpec: h.vertex.createdJobs[0]!.pipelineSpec })).toEqual([]);
  });
});
