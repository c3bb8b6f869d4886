/** The PipelineJob message and names, as pure functions of the config, the IR and the run id. */
import { describe, expect, it } from "vitest";
import { configSchema } from "./config.js";
import { labelValue, pipelineJob, pipelineJobId } from "./job.js";

const config = configSchema.parse({ project: "my-project", image: "img", serviceAccount: "sa@my-project.iam.gserviceaccount.com", network: "projects/123/global/networks/vpc", encryptionSpecKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k" });
const ir = { pipelineInfo: { name: "p" }, root: { dag: { tasks: {} } }, components: {}, deploymentSpec: { executors: {} }, schemaVersion: "2.1.0", sdkVersion: "x" };

describe("the PipelineJob message", () => {
  it("carries the IR as a Struct, the parameters as Values (null ones unset), service account, network and CMEK key", () => {
    const job = pipelineJob({ config, pipelineSpec: ir, displayName: "p", labels: { a: "b" }, parameterValues: { n: 3, name: "x", unset: null, orch_run_id: "r1" }, gcsOutputDirectory: "gs://b/root/r1" });
    expect(Object.keys((job.pipelineSpec as { fields: object }).fields).sort()).toEqual(Object.keys(ir).sort());
    expect(job.runtimeConfig?.parameterValues).toEqual({ n: { kind: "numberValue", numberValue: 3 }, name: { kind: "stringValue", stringValue: "x" }, orch_run_id: { kind: "stringValue", stringValue: "r1" } });
    expect(job).toMatchObject({ serviceAccount: config.serviceAccount, network: config.network, encryptionSpec: { kmsKeyName: config.encryptionSpecKeyName }, runtimeConfig: { gcsOutputDirectory: "gs://b/root/r1" } });
  });

  it("names jobs in Vertex's alphabet without two run ids sharing one", () => {
    expect(pipelineJobId("20261130-010203-004-abc123")).toBe("orch-20261130-010203-004-abc123");
    const ids = ["Nightly_1", "nightly-1", "NIGHTLY_1", "nightly_1"].map(pipelineJobId);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]{0,127}$/);
    expect(labelValue("Iris Training.v2")).toBe("iris-training-v2");
    expect(labelValue("x".repeat(80))).toHaveLength(63);
  });
});
