/**
 * The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote)
 * on a `local` orchestrator + `azure` store stack against Azurite: every record and artifact lands in the
 * container, the model loads back from it, and a second run is served from the cache kept there.
 */
import { fileURLToPath } from "node:url";
import { defineStack } from "@orch/core";
import { local } from "@orch/plugin-local";
import { describe, expect, it } from "vitest";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";
import { blobNames, blobText, useAzurite } from "../test/azurite.js";
import { azure } from "./index.js";

const projectRoot = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url));
const azurite = useAzurite();
const STEPS = ["load_data", "split_data", "train_model", "evaluate_model", "promote_model"];

describe("the quickstart on a local + azure stack", () => {
  it("runs with its journal and artifacts in the container, then re-runs from the cache there", { timeout: 120_000 }, async () => {
    const container = await azurite.container("quickstart");
    const stack = defineStack({
      name: "quickstart_azure",
      orchestrator: local(),
      artifactStore: azure({ path: `az://${container}/orch`, connectionString: azurite.connectionString }),
    });
    const first = await irisTraining.run({ stack, projectRoot, handleSignals: false });
    expect(first.status).toBe("succeeded");
    expect(first.steps.map((s) => [s.stepId, s.status]).sort()).toEqual(STEPS.map((id) => [id, "succeeded"]).sort());
    const names = await blobNames(azurite.service, container, `orch/runs/${first.runId}/`);
    for (const id of STEPS) expect(names).toContain(`orch/runs/${first.runId}/steps/${id}.json`);
    expect(JSON.parse((await blobText(azurite.service, container, `orch/runs/${first.runId}/run.json`))!)).toMatchObject({ status: "succeeded", pipeline: "iris_training" });
    expect(await first.load("evaluate_model")).toBeGreaterThan(0.8); // accuracy, read back from the container

    const second = await irisTraining.run({ stack, projectRoot, handleSignals: false });
    expect(second.status).toBe("succeeded");
    expect(second.steps.every((s) => s.status === "cached")).toBe(true);
  });
});
