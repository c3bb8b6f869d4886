import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOutput, readStepRecord } from "@orch/core/plugin";
import { createHarness, packageRoot, type Harness } from "../test/harness.js";
import { dynamicPipeline, failing, gated, sumOfSquares } from "../test/fixtures/pipelines.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h?.close());

describe("kubeflow runs against the loopback KFP API", () => {
  it("uploads the IR, creates a run, and the run executes it: every step's output loads through core", async () => {
    const result = await sumOfSquares.run({ stack: h.stack("basic"), params: { count: 3, offset: 10 }, projectRoot: packageRoot, handleSignals: false });
    expect(result.status, JSON.stringify(result.steps.map((s) => [s.stepId, s.status, s.error?.message]))).toBe("succeeded");
    expect(await result.load("total")).toBe(10 + 1 + 4 + 9);
    const kfpRun = [...h.kfp.runs.values()].find((r) => r.display_name === result.runId)!;
    expect(kfpRun.state).toBe("SUCCEEDED");
    expect(kfpRun.runtime_config).toMatchObject({ parameters: { orch_run_id: result.runId, count: 3, offset: 10 }, pipeline_root: `s3://orch-kfp/basic/kfp-root` });
    expect(kfpRun.run_details!.task_details!.map((t) => [t.display_name, t.state])).toEqual([
      ["make_numbers", "SUCCEEDED"],
      ["square", "SUCCEEDED"],
      ["total", "SUCCEEDED"],
    ]);
    // A second run of the same pipeline uploads nothing new.
    const uploads = h.kfp.requests.filter((r) => r.includes("/upload")).length;
    const again = await sumOfSquares.run({ stack: h.stack("basic"), params: { count: 3, offset: 10 }, projectRoot: packageRoot, handleSignals: false });
    expect(again.status).toBe("succeeded");
    expect(h.kfp.requests.filter((r) => r.includes("/upload")).length).toBe(uploads);
  });

  it("records a failing step with its error and the steps it kept from running", async () => {
    const result = await failing.run({ stack: h.stack("failing"), projectRoot: packageRoot, handleSignals: false });
    expect(result.status).toBe("failed");
    const byId = Object.fromEntries(result.steps.map((s) => [s.stepId, s]));
    expect(byId.boom!.status).toBe("failed");
    expect(byId.boom!.error?.message).toContain("boom: this step always fails");
    expect(byId.make_numbers!.status).toBe("succeeded");
    expect(byId.square!.status).toBe("succeeded");
  });

  it("refuses a dynamic pipeline at submit, naming the pipeline and the flavor", async () => {
    await expect(dynamicPipeline.run({ stack: h.stack("dynamic"), params: { n: 2 }, projectRoot: packageRoot, handleSignals: false })).rejects.toMatchObject({
      code: "E_CAPABILITY_UNSUPPORTED",
      message: expect.stringContaining('Pipeline "dynamic_numbers" is dynamic, and the kubeflow orchestrator cannot run dynamic pipelines'),
    });
    expect([...h.kfp.runs.values()].some((r) => r.display_name.includes("dynamic"))).toBe(false);
  });
});
