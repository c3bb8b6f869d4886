/**
 * Large artifacts on the s3 store, end to end: a pipeline on a `local` orchestrator + `s3` store
 * (s3rver on 127.0.0.1) whose step returns 512 MiB generated on the fly and whose next step streams
 * it back. The steps run in this process, so its RSS is the step process's: the peak growth must stay
 * far below the artifact's size (multipart upload out, streamed GetObject in).
 */
import { createHash, randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { artifactStream, defineStack, pipeline, step, StreamedArtifact } from "@orch/core";
import { local } from "@orch/plugin-local";
import { startS3rver, type S3rverHandle } from "../test/s3rver.js";
import { s3 } from "./index.js";

const BUCKET = "orch-streamed";
const MiB = 1024 * 1024;
const SIZE_MIB = 512;
const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const tmp = join(pluginRoot, ".tmp");
mkdirSync(tmp, { recursive: true });
let server: S3rverHandle;
let sdk: S3Client;
const project = mkdtempSync(join(tmp, "streamed-"));

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  sdk = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...server.credentials } });
});
afterAll(async () => {
  sdk?.destroy();
  await server?.stop();
  rmSync(project, { recursive: true, force: true });
});

const stack = () =>
  defineStack({ name: "s3-streamed", orchestrator: local(), artifactStore: s3({ path: `s3://${BUCKET}/big`, endpoint: server.endpoint, forcePathStyle: true, ...server.credentials }) });

let produced = 0;
let expectedHash: string | undefined;
const produce = step({ name: "produce" }, () => {
  produced++;
  return artifactStream(
    (async function* () {
      const hash = createHash("sha256");
      for (let i = 0; i < SIZE_MIB; i++) {
        const chunk = randomFillSync(Buffer.allocUnsafe(MiB)); // fresh memory per chunk, as real data would be
        hash.update(chunk);
        yield chunk;
      }
      expectedHash = hash.digest("hex");
    })(),
  );
});
const consume = step({ name: "consume" }, async (big: StreamedArtifact) => {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of big.stream()) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { size, hash: hash.digest("hex") };
});
const big = pipeline({ name: "big_on_s3" }, () => void consume(produce()));

describe("local orchestrator + s3 store: a 512 MiB streamed artifact", () => {
  it("is uploaded in parts and read back as a stream with bounded memory", async () => {
    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    let result;
    try {
      result = await big.run({ stack: stack(), projectRoot: project, handleSignals: false });
    } finally {
      clearInterval(timer);
    }
    const growthMb = (peak - baseline) / MiB;
    console.info(`[streamed artifacts] s3 store (s3rver), ${SIZE_MIB} MiB save+load: peak RSS growth ${growthMb.toFixed(1)} MB`);
    expect(result.status).toBe("succeeded");
    expect(await result.load(consume)).toEqual({ size: SIZE_MIB * MiB, hash: expectedHash });
    const record = result.step("produce")!.outputs.output!;
    expect(record).toMatchObject({ materializer: "stream", contentHash: expectedHash });
    // The object in the bucket is whole.
    const head = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `big/artifacts/${record.artifactId}` }));
    expect(head.ContentLength).toBe(SIZE_MIB * MiB);
    expect(growthMb).toBeLessThan(200);
  }, 300_000);

  it("is reused from the bucket on a second run (cache hit, checked by size without downloading it)", async () => {
    const again = await big.run({ stack: stack(), projectRoot: project, handleSignals: false });
    expect(again.steps.map((s) => s.status)).toEqual(["cached", "cached"]);
    expect(produced).toBe(1);
  }, 120_000);

  it("leaves nothing in the bucket when the source fails mid-upload", async () => {
    const before = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "big/artifacts/" }));
    const broken = step({ name: "broken", retry: { maxRetries: 1 } }, () =>
      artifactStream(
        (async function* () {
          for (let i = 0; i < 20; i++) yield Buffer.alloc(MiB, i); // past two 5 MiB parts
          throw new Error("sensor unplugged");
        })(),
      ),
    );
    const result = await pipeline({ name: "broken_on_s3" }, () => void broken()).run({ stack: stack(), projectRoot: project, handleSignals: false });
    // The message names the output and the store, and ends with the source's own error — not the
    // refused AbortMultipartUpload that s3rver answers when lib-storage cleans up.
    expect(result.step("broken")).toMatchObject({ status: "failed", attempts: 2, error: { code: "E_ARTIFACT_STREAM", message: expect.stringContaining(`"broken" output "output": streaming it into the artifact store at s3://${BUCKET}/big`) } });
    expect(result.step("broken")?.error?.message).toContain("sensor unplugged");
    const after = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "big/artifacts/" }));
    expect(after.KeyCount).toBe(before.KeyCount);
  }, 120_000);
});
