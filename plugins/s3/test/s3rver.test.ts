// The s3rver front (s3rver-child.cjs) gives readers whole objects, as S3 does: a GET racing a PUT of the
// same key returns the old object or the new one, never the part of the new one written so far.
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3rver, type S3rverHandle } from "./s3rver.js";

let server: S3rverHandle;
beforeAll(async () => {
  server = await startS3rver(["whole"]);
});
afterAll(() => server?.stop());

describe("the s3rver test server", () => {
  it("never lets a GET read a PUT in flight of the same key", async () => {
    const client = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: server.credentials });
    const body = (fill: string) => JSON.stringify({ fill: fill.repeat(2_000_000) });
    await client.send(new PutObjectCommand({ Bucket: "whole", Key: "record.json", Body: body("a") }));
    const reads: string[] = [];
    const puts = ["b", "c", "d"].map((fill) => client.send(new PutObjectCommand({ Bucket: "whole", Key: "record.json", Body: body(fill) })));
    for (let i = 0; i < 6; i++) {
      const got = await client.send(new GetObjectCommand({ Bucket: "whole", Key: "record.json" }));
      reads.push(await got.Body!.transformToString());
    }
    await Promise.all(puts);
    for (const text of reads) expect(() => JSON.parse(text)).not.toThrow();
    client.destroy();
  }, 60_000);
});
