import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { parseComponentConfig } from "@orch/core/plugin";
import { probePluginEntry } from "@orch/testkit";
import { useS3rver } from "../test/s3rver.js";
import plugin, { configSchema, s3 } from "./index.js";
import { createS3Store } from "./store.js";

const BUCKET = "orch-plugin";
const { server: s3rver, config } = useS3rver(BUCKET, "p");

describe("artifact store: s3 — declaration", () => {
  it("is an artifact-store plugin of flavor s3 that keeps data remotely", () => {
    expect(plugin).toMatchObject({ kind: "artifact-store", flavor: "s3", remote: true });
    expect(s3({ path: "s3://b-1/x" })).toMatchObject({ flavor: "s3", config: { path: "s3://b-1/x" }, plugin });
  });

  it("loads no AWS SDK module when the entry is imported", async () => {
    const probe = await probePluginEntry({ entry: fileURLToPath(new URL("./index.ts", import.meta.url)) });
    expect(probe.plugin).toEqual({ kind: "artifact-store", flavor: "s3" });
    expect(probe.records.filter((r) => /@aws-sdk|@smithy/.test(r.specifier))).toEqual([]);
  });

  it.each([
    ["s3://my-bucket", { bucket: "my-bucket", prefix: "" }],
    ["s3://my.bucket.01/a/b-c/d_e/", { bucket: "my.bucket.01", prefix: "a/b-c/d_e" }],
  ])("accepts path %s", async (path, expected) => {
    const { parseS3Path } = await import("./schema.js");
    expect(parseS3Path(path)).toEqual(expected);
    expect(() => parseComponentConfig(plugin, { path })).not.toThrow();
  });

  it.each([
    ["gs://bucket/x", /not an s3:\/\/ URL/],
    ["s3://", /3 to 63/],
    ["s3://ab", /3 to 63/],
    [`s3://${"a".repeat(64)}`, /3 to 63/],
    ["s3://My_Bucket", /lower-case letters/],
    ["s3://-bucket", /begin and end/],
    ["s3://bucket-", /begin and end/],
    ["s3://my..bucket", /".."/],
    ["s3://192.168.0.1", /IP address/],
    ["s3://xn--bucket", /reserves/],
    ["s3://bücket", /lower-case letters/],
    ["s3://bucket/a//b", /prefix/],
    ["s3://bucket/a/../b", /prefix/],
    ["s3://bucket/a b", /prefix/],
  ])("refuses path %s, naming the key", (path, message) => {
    expect(() => parseComponentConfig(plugin, { path })).toThrow(expect.objectContaining({ code: "E_CONFIG_INVALID", key: "path", message: expect.stringMatching(message) }));
  });

  it("refuses unknown keys, a key id without its secret, and a too small part size", () => {
    expect(() => parseComponentConfig(plugin, { path: "s3://bucket", bucket: "x" })).toThrow(/\[s3\] bucket/);
    expect(() => parseComponentConfig(plugin, { path: "s3://bucket", accessKeyId: "AKIA" })).toThrow(/secretAccessKey: accessKeyId and secretAccessKey go together/);
    expect(() => parseComponentConfig(plugin, { path: "s3://bucket", sessionToken: "t" })).toThrow(/sessionToken needs/);
    expect(() => parseComponentConfig(plugin, { path: "s3://bucket", partSize: 1024 })).toThrow(/partSize/);
  });

  it("marks credential fields secret (the CLI redacts them)", () => {
    const shape = configSchema.shape;
    for (const key of ["accessKeyId", "secretAccessKey", "sessionToken"] as const) {
      expect(shape[key].meta()).toMatchObject({ secret: true });
    }
    expect(shape.path.meta()?.secret).toBeUndefined();
  });
});

describe("artifact store: s3 — behaviour on s3rver", () => {
  it("keeps credentials out of describe() and hands them to child processes through env()", () => {
    const store = createS3Store(config({ sessionToken: "tok" }));
    const described = JSON.stringify(store.describe());
    expect(described).not.toMatch(/S3RVER|tok/);
    expect(store.describe().config).toMatchObject({ endpoint: s3rver().endpoint, forcePathStyle: true });
    expect(store.env!()).toEqual({ AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_SESSION_TOKEN: "tok" });
    expect(createS3Store(configSchema.parse({ path: "s3://bucket-x" })).env!()).toEqual({});
  });

  it("writes objects under the prefix, so two stores in one bucket do not meet", async () => {
    const a = createS3Store(config());
    const b = createS3Store(config());
    await a.write("runs/r/run.json", "a");
    expect(await b.read("runs/r/run.json")).toBeUndefined();
    const object = await a.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${a.uri.split("/").slice(3).join("/")}/runs/r/run.json` }));
    expect(await object.Body!.transformToString()).toBe("a");
  });

  it("shows appended log lines in the bucket before the step ends (for orch run logs --follow)", async () => {
    const store = createS3Store(config({ logFlushSeconds: 0.2 }));
    await store.append!("runs/r/logs/s.log", "first\n");
    // Poll the object as `orch run logs --follow` does; no flush() was called.
    let seen = "";
    for (let i = 0; i < 100 && !seen.includes("first"); i++) {
      seen = Buffer.from((await store.read("runs/r/logs/s.log")) ?? []).toString();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toBe("first\n");
    for (let i = 0; i < 50; i++) await store.append!("runs/r/logs/s.log", `line ${i}\n`);
    await store.flush!("runs/r/logs/s.log");
    const text = Buffer.from((await store.read("runs/r/logs/s.log"))!).toString();
    expect(text.split("\n").filter(Boolean)).toHaveLength(51);
  });

  it("continues a log another process started (a retried or resumed step)", async () => {
    const c = config();
    await createS3Store(c).write("runs/r/logs/s.log", "attempt 1\n");
    const store = createS3Store(c);
    await store.append!("runs/r/logs/s.log", "attempt 2\n");
    await store.flush!();
    expect(Buffer.from((await store.read("runs/r/logs/s.log"))!).toString()).toBe("attempt 1\nattempt 2\n");
  });

  it("names the store and the fix when the bucket is missing, at any call", async () => {
    const store = createS3Store(config({ path: "s3://no-such-bucket/x" }));
    await expect(store.preflight!()).rejects.toMatchObject({ code: "E_CONFIG_INVALID", key: "path", message: expect.stringMatching(/\[s3\] preflight on s3:\/\/no-such-bucket\/x .* bucket "no-such-bucket" does not exist/), hint: expect.stringMatching(/aws s3 mb s3:\/\/no-such-bucket/) });
    await expect(store.write("runs/r/run.json", "x")).rejects.toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringMatching(/write runs\/r\/run.json on s3:\/\/no-such-bucket\/x/) });
  });

  it("names the credentials when the access key is refused", async () => {
    const store = createS3Store(config({ accessKeyId: "AKIAWRONG", secretAccessKey: "x" }));
    await expect(store.preflight!()).rejects.toMatchObject({ code: "E_CONFIG_INVALID", key: "accessKeyId", message: expect.stringMatching(/credentials were refused \(InvalidAccessKeyId\)/), hint: expect.stringMatching(/AWS_ACCESS_KEY_ID/) });
  });

  it("says no credentials were found when neither config nor the default chain has any", async () => {
    const saved = { ...process.env };
    for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) delete process.env[key];
    Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: "/nonexistent/config", AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials" });
    try {
      const store = createS3Store(configSchema.parse({ path: `s3://${BUCKET}/nocreds`, endpoint: s3rver().endpoint, forcePathStyle: true, maxAttempts: 1 }));
      await expect(store.preflight!()).rejects.toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringMatching(/no AWS credentials were found/), hint: expect.stringMatching(/AWS_ACCESS_KEY_ID/) });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  it("says the endpoint is unreachable when nothing listens there", async () => {
    const store = createS3Store(config({ endpoint: "http://127.0.0.1:1", maxAttempts: 1 }));
    await expect(store.preflight!()).rejects.toMatchObject({ code: "E_BACKEND_UNAVAILABLE", message: expect.stringMatching(/cannot be reached \(ECONNREFUSED\)/), hint: expect.stringMatching(/127\.0\.0\.1:1/) });
  });

  it("retries 5xx answers with the SDK's retry machinery, maxAttempts times", async () => {
    let requests = 0;
    const flaky = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503, { "Content-Type": "application/xml" }).end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    });
    await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
    try {
      const store = createS3Store(config({ endpoint: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`, maxAttempts: 3 }));
      await expect(store.read("runs/r/run.json")).rejects.toThrow(/reduce your request rate/);
      expect(requests).toBe(3);
    } finally {
      flaky.close();
    }
  });
});
