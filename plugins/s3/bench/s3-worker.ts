// One measured operation of s3.bench.ts in a fresh process, so each peak-RSS number starts from the
// same baseline (a heap grown by an earlier operation would hide the next one's growth).
//   node --conditions=@orch/source --import tsx s3-worker.ts <store-save|store-load|plain-save|plain-load> <endpoint> <bucket> <bytes>
// Prints {"ms":…,"rssMiB":…} on its last line.
import { Readable } from "node:stream";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { artifactStream, type OutputRecord, type StreamedArtifact } from "@orch/core";
import { loadOutput, saveArtifact } from "@orch/core/plugin";
import { configSchema } from "../src/schema.js";
import { createS3Store } from "../src/store.js";

const MiB = 1024 * 1024;
const [op, endpoint, bucket, size] = process.argv.slice(2) as [string, string, string, string];
const BYTES = Number(size);
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** The same bytes every time, made on the fly in 1 MiB chunks. */
function bytes(total: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(MiB, 7);
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(MiB, total - sent);
      sent += n;
      this.push(n === MiB ? Buffer.from(chunk) : chunk.subarray(0, n));
    },
  });
}

async function drain(stream: AsyncIterable<Buffer>): Promise<number> {
  let total = 0;
  for await (const part of stream) total += part.length;
  return total;
}

const store = createS3Store(configSchema.parse({ path: `s3://${bucket}/store`, endpoint, forcePathStyle: true, ...credentials }));
// The plain SDK as a user would write it for an S3-compatible server; lib-storage's defaults (5 MiB parts, 4 at once).
const client = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials, requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });

const ops: Record<string, (n: number, key: string) => Promise<unknown>> = {
  // What a step does: return artifactStream(…) (saved by the stream materializer: size and sha256 on
  // the way, recorded in the output record), and a downstream step reading the StreamedArtifact it is given.
  "store-save": async (n, key) => {
    const record = await saveArtifact(store, artifactStream(bytes(n), { size: n }), { runId: "bench", stepId: key, output: "output" });
    await store.write(`bench/${key}.json`, JSON.stringify(record)); // for the load, in another process
  },
  "store-load": async (n, key) => {
    const record = JSON.parse(Buffer.from((await store.read(`bench/${key}.json`))!).toString("utf8")) as OutputRecord;
    const artifact = await loadOutput<StreamedArtifact>(store, record);
    const read = await drain(artifact.stream() as AsyncIterable<Buffer>);
    if (read !== n) throw new Error(`artifact read ${read} bytes, expected ${n}`);
  },
  "plain-save": (n, key) => new Upload({ client, params: { Bucket: bucket, Key: `plain/${key}`, Body: bytes(n) } }).done(),
  "plain-load": async (n, key) => {
    const read = await drain((await client.send(new GetObjectCommand({ Bucket: bucket, Key: `plain/${key}` }))).Body as AsyncIterable<Buffer>);
    if (read !== n) throw new Error(`GetObject read ${read} bytes, expected ${n}`);
  },
};
const run = ops[op];
if (!run) throw new Error(`unknown op ${op}`);

// Warm-up: module loading and the first connection are not part of the number.
const warm = op.endsWith("load") ? op.replace("load", "save") : op;
await ops[warm]!(MiB, "warm");
if (op.endsWith("load")) await run(MiB, "warm");

const base = process.memoryUsage.rss();
let peak = base;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
const start = performance.now();
await run(BYTES, "big");
const ms = performance.now() - start;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage.rss());
client.destroy();
console.log(JSON.stringify({ ms, rssMiB: (peak - base) / MiB }));
