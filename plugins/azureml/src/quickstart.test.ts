/**
 * The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote)
 * on an azureml + azure stack: the real @azure/arm-machinelearning client submits the pipeline job to
 * the loopback ARM server, which runs each command node as a process against the azure store on
 * Azurite; the model is loaded back through core.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { evaluateModel, trainModel } from "../../../examples/quickstart/src/steps.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";
import { createHarness, missing, type Harness } from "../test/harness.js";
import { imageProject } from "../test/project-image.js";

const quickstartRoot = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url)).replace(/\/$/, "");
const STEPS = ["evaluate_model", "load_data", "promote_model", "split_data", "train_model"];
const skip = missing();
if (skip) console.warn(`[orch] azureml quickstart tests skipped: ${skip}`);

let h: Harness | undefined;
let image: ReturnType<typeof imageProject> | undefined;
afterEach(async () => {
  image?.remove();
  await h?.close();
  h = undefined;
});

describe.skipIf(skip)("the quickstart on azureml", () => {
  it("runs end to end as an Azure ML pipeline job and produces its model", async () => {
    image = imageProject();
    h = await createHarness({ projectRoot: image.root });
    // DefaultAzureCredential, as a user has it: here a managed identity (App Service style) served by the loopback server.
    Object.assign(process.env, h.identityEnv);
    const seen: string[] = [];
    const result = await irisTraining.run({ stack: h.stack, projectRoot: quickstartRoot, handleSignals: false, observer: { stepUpdated: (s) => void seen.push(`${s.stepId}:${s.status}`) } });

    expect(result.status).toBe("succeeded");
    expect(result.steps.map((s) => s.stepId).sort()).toEqual(STEPS);
    expect(await result.load(evaluateModel)).toBeGreaterThan(0.8);
    expect(await result.load(trainModel)).toBeTruthy();
    // Live: each step was seen running before it succeeded.
    for (const id of STEPS) expect(seen.indexOf(`${id}:running`)).toBeLessThan(seen.indexOf(`${id}:succeeded`));
    // One pipeline job with one command child job per step, all Completed.
    const parent = h.server.jobs.get(`orch-${result.runId}`)!;
    expect(parent.status).toBe("Completed");
    const children = [...h.server.jobs.values()].filter((j) => j.parentJobName === parent.name);
    expect(children.map((c) => c.status)).toEqual(STEPS.map(() => "Completed"));
    // Each child job's output is in the workspace storage as user_logs/std_log.txt.
    const log = await h.azurite.service.getContainerClient("azureml").getBlobClient(`ExperimentRun/dcid.${parent.name}_train_model/user_logs/std_log.txt`).downloadToBuffer();
    expect(log.toString()).toContain("step train_model: succeeded");
  });
});
