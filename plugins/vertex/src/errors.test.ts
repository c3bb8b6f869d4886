/**
 * What a user sees when Vertex AI says no: Google's error bodies, through the real SDK, as OrchErrors
 * whose code says whose move it is and whose hint says what to do.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { createHarness, type Harness } from "../test/harness.js";
import { sumPipeline } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const submit = (harness: Harness, extra = {}) => {
  const snapshot = compilePipeline(sumPipeline, { n: 2 }, { projectRoot: harness.config.projectRoot! }).snapshot;
  return harness.runtime(extra).submit(snapshot, { runId: `err-${Date.now()}`, signal: new AbortController().signal });
};

describe("Vertex AI errors", () => {
  it("a project the caller cannot use (403) is a config error with the IAM hint", async () => {
    h = await createHarness();
    await expect(submit(h, { project: "someone-elses-project" })).rejects.toMatchObject({
      code: "E_CONFIG_INVALID",
      message: expect.stringMatching(/HTTP 403.*Permission 'aiplatform\.pipelineJobs\.create' denied/),
      hint: expect.stringContaining("roles/aiplatform.user"),
    });
  });

  it("credentials Vertex rejects (401) name the key file", async () => {
    h = await createHarness();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const other = join(h.dir, "other-key.json");
    await writeFile(other, JSON.stringify({ type: "service_account", project_id: "orch-test-project", private_key_id: "other", private_key: privateKey, client_email: "orch-runner@orch-test-project.iam.gserviceaccount.com", client_id: "2", token_uri: "http://127.0.0.1:9/token" }));
    await expect(submit(h, { keyFile: other })).rejects.toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringContaining("HTTP 401"), hint: expect.stringContaining(other) });
  });

  it("an API that cannot serve now (503) is E_BACKEND_UNAVAILABLE, and nothing half-made stays running", async () => {
    h = await createHarness();
    h.vertex.failNext(20, 503, /^POST .*\/pipelineJobs$/);
    await expect(submit(h)).rejects.toMatchObject({ code: "E_BACKEND_UNAVAILABLE", message: expect.stringContaining("HTTP 503") });
    expect(h.vertex.jobs.size).toBe(0);
    expect((await h.store.list("runs/")).filter((key) => key.endsWith("/run.json"))).toEqual([]);
  });
});
