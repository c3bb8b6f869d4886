/** The test server's gaps to S3, closed in s3rver-child.cjs: here, that reads never see a half-written object. */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type S3rverHandle } from "./s3rver.js";

let server: S3rverHandle;
let client: S3Client;
beforeAll(async () => {
  server = await startS3rver(["atomic"]);
  client = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: "us-east-1", credentials: server.credentials });
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

describe("the s3rver test server", () => {
  it("answers a GET during a PUT of the same key with a whole object, old or new, as S3 does", async () => {
    const size = 4 * 1024 * 1024;
    const versions = ["a", "b", "c", "d"].map((c) => c.repeat(size));
    await client.send(new PutObjectCommand({ Bucket: "atomic", Key: "k", Body: versions[0] }));
    const seen: string[] = [];
    const puts = (async () => {
      for (const body of versions.slice(1)) await client.send(new PutObjectCommand({ Bucket: "atomic", Key: "k", Body: body }));
    })();
    let done = false;
    void puts.finally(() => (done = true));
    while (!done) {
      const body = await (await client.send(new GetObjectCommand({ Bucket: "atomic", Key: "k" }))).Body!.transformToString();
      seen.push(body.length === size && new Set(body).size === 1 ? body[0]! : `partial(${body.length})`);
    }
    await puts;
    expect(seen.filter((s) => s.startsWith("partial"))).toEqual([]);
  }, 60_000);
});
