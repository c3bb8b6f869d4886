import { describe, expect, it } from "vitest";
import { isOrchError } from "../errors.js";
import { resolveEnvReferences } from "./env-references.js";
import { redactSecrets } from "./secret.js";

describe("{{env.NAME}} config references", () => {
  const env = { S3_SECRET: "s3cr3t", REGION: "eu-west-1" };

  it("replaces references at any depth and leaves everything else alone", () => {
    const config = { path: "s3://b/p", secretAccessKey: "{{env.S3_SECRET}}", region: "{{ env.REGION }}", env: { TOKEN: "{{env.S3_SECRET}}" }, list: ["{{env.REGION}}", 3], literal: "a {{env.S3_SECRET}} b" };
    expect(resolveEnvReferences(config, "s3", env)).toEqual({ path: "s3://b/p", secretAccessKey: "s3cr3t", region: "eu-west-1", env: { TOKEN: "s3cr3t" }, list: ["eu-west-1", 3], literal: "a {{env.S3_SECRET}} b" });
    expect(config.secretAccessKey).toBe("{{env.S3_SECRET}}"); // a copy: the stored config keeps the reference
  });

  it.each([
    ["unset", {}],
    ["empty", { S3_SECRET: "" }],
  ])("refuses a reference to an %s variable, naming the key and the variable", (_what, vars) => {
    let error: unknown;
    try {
      resolveEnvReferences({ credentials: { secretAccessKey: "{{env.S3_SECRET}}" } }, "s3", vars);
    } catch (caught) {
      error = caught;
    }
    expect(isOrchError(error) && error.code).toBe("E_CONFIG_INVALID");
    expect((error as Error).message).toBe("[orch] [s3] credentials.secretAccessKey: refers to the environment variable S3_SECRET ({{env.S3_SECRET}}), which is not set.");
    expect((error as { hint: string }).hint).toMatch(/export S3_SECRET=/);
  });

  it("shows references in redacted output (they hold no secret) and still hides values", () => {
    expect(redactSecrets({ password: "{{env.REGISTRY_PASSWORD}}", token: "abc" })).toEqual({ password: "{{env.REGISTRY_PASSWORD}}", token: "********" });
  });
});
