/**
 * The vertex runtime through the real aiplatform SDK against the loopback Vertex AI server, which
 * executes the IR it received (not orch's snapshot) against the fake Cloud Storage bucket.
 */
import { afterEach, describe, expect, it } from "vitest";
import { helpers } from "@google-cloud/aiplatform";
import { readRunRecord, readStepRecords } from "@orch/core/plugin";
import { createHarness, until, watchConnections, type Harness } from "../test/harness.js";
import { sumPipeline, total } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("a run on vertex", () => {
  it("submits the IR as a Struct, runs it in Vertex and loads the result through core, with no connection outside 127.0.0.1", async () => {
    const network = watchConnections();
    try {
      h = await createHarness();
      const result = await sumPipeline.run({ stack: h.stack, projectRoot: h.config.projectRoot!, params: { n: 10 }, handleSignals: false });
      expect(result.status).toBe("succeeded");
      expect(await result.load(total)).toBe(55);
      const request = h.vertex.createdJobs[0]!;
      // What the SDK put on the wire: the whole IR (a plain object would have arrived as {}).
      expect(Object.keys(request.pipelineSpec).sort()).toEqual(["components", "deploymentSpec", "pipelineInfo", "root", "schemaVersion", "sdkVersion"]);
      expect(request.runtimeConfig.gcsOutputDirectory).toBe(`${h.storeConfig.path}/vertex-pipeline-root/${result.runId}`);
      expect(request.runtimeConfig.parameterValues).toEqual({ n: 10, orch_run_id: result.runId });
      expect(request.labels).toMatchObject({ "managed-by": "orch", "orch-flavor": "vertex", "orch-pipeline": "vertex_sum", "orch-run-id": result.runId });
      const job = [...h.vertex.jobs.values()][0]!;
      expect(job.state).toBe("PIPELINE_STATE_SUCCEEDED");
      expect(job.jobDetail.taskDetails.map((t: { taskName: string; state: string }) => `${t.taskName}:${t.state}`)).toEqual(["vertex-sum:SUCCEEDED", "load:SUCCEEDED", "total:SUCCEEDED"]);
      expect((await readRunRecord(h.store, result.runId))?.status).toBe("succeeded");
    } finally {
      expect(network.stop()).toEqual([]);
    }
  });
});
