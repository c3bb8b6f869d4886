// s3 store benchmarks (issue 12), on s3rver (a real S3 protocol server, in its own process on 127.0.0.1):
//  1. save + load of a 1 GiB artifact through the store's writeStream/readStream vs a plain
//     @aws-sdk/lib-storage Upload and GetObject of the same bytes (lib-storage defaults), with the peak
//     RSS growth of this process (the client side; the server's memory is its own process).
//  2. per-step overhead of the 1 → 200 → 1 no-op pipeline on the local orchestrator with the s3 store
//     vs the local store.
// ORCH_BENCH_S3_BYTES changes the artifact size (default 1 GiB).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { defineStack, localArtifactStore, pipeline, step, type ArtifactStore } from "@orch/core";
import { local } from "@orch/plugin-local";
import type { BenchResult } from "../../../bench/measure.js";
import { startS3rver } from "../test/s3rver.js";
import { s3 } from "../src/index.js";
import { configSchema } from "../src/schema.js";
import { createS3Store } from "../src/store.js";

const MiB = 1024 * 1024;
const BYTES = Number(process.env.ORCH_BENCH_S3_BYTES ?? 1024 * MiB);
const BUCKET = "orch-bench";

/** The same bytes every time, made on the fly in 1 MiB chunks. */
function bytes(size: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(MiB, 7);
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(MiB, size - sent);
      sent += n;
      this.push(n === MiB ? Buffer.from(chunk) : chunk.subarray(0, n));
    },
  });
}

async function drain(stream: Readable | NodeJS.ReadableStream): Promise<number> {
  let total = 0;
  for await (const part of stream as AsyncIterable<Buffer>) total += part.length;
  return total;
}

/** Wall time and peak RSS growth of this process while `work` runs. */
async function measure(work: () => Promise<unknown>): Promise<{ ms: number; rssMiB: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const start = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - start;
  peak = Math.max(peak, process.memoryUsage.rss());
  return { ms, rssMiB: (peak - base) / MiB };
}

const noop = step({ name: "noop" }, (..._inputs: number[]) => 1);
const wide = pipeline({ name: "wide_200" }, () => {
  const root = noop();
  noop(...Array.from({ length: 200 }, (_, i) => noop(root, i)));
});

export async function run(): Promise<BenchResult[]> {
  const server = await startS3rver([BUCKET]);
  const connection = { endpoint: server.endpoint, forcePathStyle: true, ...server.credentials };
  const results: BenchResult[] = [];
  try {
    const store: ArtifactStore = createS3Store(configSchema.parse({ path: `s3://${BUCKET}/store`, ...connection }));
    const client = new S3Client({ region: "us-east-1", endpoint: server.endpoint, forcePathStyle: true, credentials: { ...server.credentials }, requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });
    const gib = (BYTES / 1024 / MiB).toFixed(2);

    // Warm-up: module loading and the first connections are not part of either number.
    await store.writeStream!("warm/data", bytes(MiB));
    await drain((await store.readStream!("warm/data"))!);
    await new Upload({ client, params: { Bucket: BUCKET, Key: "warm/plain", Body: bytes(MiB) } }).done();
    await drain((await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "warm/plain" }))).Body as Readable);

    const oursSave = await measure(() => store.writeStream!("artifacts/big/data", bytes(BYTES), { size: BYTES }));
    const oursLoad = await measure(async () => {
      const n = await drain((await store.readStream!("artifacts/big/data"))!);
      if (n !== BYTES) throw new Error(`store read ${n} bytes, expected ${BYTES}`);
    });
    await store.delete("artifacts/big/");
    const plainSave = await measure(() => new Upload({ client, params: { Bucket: BUCKET, Key: "plain/data", Body: bytes(BYTES) } }).done());
    const plainLoad = await measure(async () => {
      const n = await drain((await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "plain/data" }))).Body as Readable);
      if (n !== BYTES) throw new Error(`GetObject read ${n} bytes, expected ${BYTES}`);
    });
    client.destroy();
    const ours = oursSave.ms + oursLoad.ms;
    const plain = plainSave.ms + plainLoad.ms;
    results.push(
      { name: `save ${gib} GiB: store writeStream`, value: oursSave.ms, unit: "ms" },
      { name: `save ${gib} GiB: plain lib-storage Upload`, value: plainSave.ms, unit: "ms" },
      { name: `load ${gib} GiB: store readStream`, value: oursLoad.ms, unit: "ms" },
      { name: `load ${gib} GiB: plain GetObject`, value: plainLoad.ms, unit: "ms" },
      { name: "save+load: store / plain SDK", value: ours / plain, unit: "×", budget: 1.3 },
      { name: "peak RSS growth, store save", value: oursSave.rssMiB, unit: "MiB", budget: 150 },
      { name: "peak RSS growth, store load", value: oursLoad.rssMiB, unit: "MiB", budget: 150 },
      { name: "peak RSS growth, plain Upload (reference)", value: plainSave.rssMiB, unit: "MiB" },
      { name: "peak RSS growth, plain GetObject (reference)", value: plainLoad.rssMiB, unit: "MiB" },
    );

    // Per-step overhead, 1 → 200 → 1 no-op steps, local orchestrator.
    const project = await mkdtemp(join(tmpdir(), "orch-s3-bench-"));
    try {
      const steps = 202;
      const timeRun = async (artifactStore: ReturnType<typeof s3>) => {
        const start = performance.now();
        const result = await wide.run({ stack: defineStack({ name: "bench", orchestrator: local({ maxParallelism: 16 }), artifactStore }), projectRoot: project, handleSignals: false });
        if (result.status !== "succeeded") throw new Error(`run ${result.status}`);
        return (performance.now() - start) / steps;
      };
      const localMs: number[] = [];
      const s3Ms: number[] = [];
      for (let i = 0; i < 3; i++) {
        localMs.push(await timeRun(localArtifactStore({ path: join(project, `local-${i}`) })));
        s3Ms.push(await timeRun(s3({ path: `s3://${BUCKET}/wide-${i}`, ...connection })));
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
      results.push(
        { name: "per-step time, 1→200→1 no-ops, local store", value: med(localMs), unit: "ms" },
        { name: "per-step time, 1→200→1 no-ops, s3 store (s3rver)", value: med(s3Ms), unit: "ms" },
      );
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  } finally {
    await server.stop();
  }
  return results;
}
