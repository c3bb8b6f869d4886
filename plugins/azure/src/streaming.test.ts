/**
 * Streaming on Azurite: a 256 MiB artifact generated on the fly goes up in blocks and comes back as a stream
 * with bounded memory; a failed upload leaves the previous value whole; concurrent streamed writers of one
 * key never leave a mixed value.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OrchError } from "@orch/core";
import { describe, expect, it } from "vitest";
import { useAzurite } from "../test/azurite.js";
import { createAzureStore } from "./store.js";

const azurite = useAzurite();

const MiB = 1024 * 1024;

/** `total` bytes made on the fly in 1 MiB chunks, each chunk distinct (its index is written into it). */
function generated(total: number, seed = 0, failAfter?: number): { stream: Readable; digest: () => string } {
  const hash = createHash("sha256");
  async function* chunks() {
    for (let offset = 0, i = 0; offset < total; offset += MiB, i++) {
      if (failAfter !== undefined && offset >= failAfter) throw new Error("source broke mid-upload");
      const chunk = Buffer.alloc(Math.min(MiB, total - offset), (i * 7 + seed) & 255);
      chunk.writeUInt32BE(i, 0);
      chunk.writeUInt32BE(seed, 4);
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), digest: () => hash.digest("hex") };
}

/** Peak RSS growth over a baseline while `fn` runs, sampled every 20 ms. */
async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growthMiB: number }> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growthMiB: (peak - baseline) / MiB };
  } finally {
    clearInterval(timer);
  }
}

async function fresh() {
  const container = await azurite.container("stream");
  return createAzureStore({ path: `az://${container}/orch`, connectionString: azurite.connectionString }, { projectRoot: "." });
}

describe("azure store streaming", () => {
  it("streams a 256 MiB artifact up and down with bounded memory", async () => {
    const store = await fresh();
    const size = 256 * MiB;
    const source = generated(size, 1);
    const up = await peakRssGrowth(() => store.writeStream("artifacts/big/data", source.stream));
    const expected = source.digest();

    const down = await peakRssGrowth(async () => {
      const stream = await store.readStream("artifacts/big/data");
      const hash = createHash("sha256");
      let bytes = 0;
      await pipeline(stream!, async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          hash.update(chunk);
        }
      });
      return { bytes, digest: hash.digest("hex") };
    });
    expect(down.result).toEqual({ bytes: size, digest: expected });
    console.info(`azure streaming 256 MiB: peak RSS growth upload ${up.growthMiB.toFixed(0)} MiB, download ${down.growthMiB.toFixed(0)} MiB`);
    // Holding the object would need at least 256 MiB; blocks in flight are 4 × 8 MiB.
    expect(up.growthMiB).toBeLessThan(150);
    expect(down.growthMiB).toBeLessThan(150);
  });

  it("resolves undefined for a missing key and round-trips an empty stream", async () => {
    const store = await fresh();
    expect(await store.readStream("artifacts/none/data")).toBeUndefined();
    await store.writeStream("artifacts/empty/data", Readable.from([]));
    expect(await store.exists("artifacts/empty/data")).toBe(true);
    expect(Buffer.from((await store.read("artifacts/empty/data"))!).length).toBe(0);
  });

  it("leaves the previous value whole when the source fails mid-upload", async () => {
    const store = await fresh();
    await store.write("artifacts/x/data", "previous");
    const broken = generated(40 * MiB, 2, 20 * MiB);
    await expect(store.writeStream("artifacts/x/data", broken.stream)).rejects.toThrow(/source broke mid-upload/);
    expect(Buffer.from((await store.read("artifacts/x/data"))!).toString()).toBe("previous");
    await expect(store.writeStream("artifacts/new/data", generated(40 * MiB, 3, 20 * MiB).stream)).rejects.toThrow(/source broke/);
    expect(await store.exists("artifacts/new/data")).toBe(false);
  });

  it("keeps one streamed writer's whole value when several stream to one key at once", async () => {
    const container = await azurite.container("stream");
    const store = await createAzureStore({ path: `az://${container}/orch`, connectionString: azurite.connectionString }, { projectRoot: "." }, { streamBlockSize: 2 * MiB, streamConcurrency: 2 });
    const writers = [11, 12, 13].map((seed) => generated(24 * MiB, seed));
    const outcomes = await Promise.allSettled(writers.map((w) => store.writeStream("artifacts/same/data", w.stream)));
    const digests = writers.map((w) => w.digest());
    const ok = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [digests[i]] : []));
    expect(ok.length).toBeGreaterThan(0);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        expect(outcome.reason).toBeInstanceOf(OrchError);
        expect((outcome.reason as OrchError).message).toContain("Another writer committed artifacts/same/data");
      }
    }
    const back = createHash("sha256").update((await store.read("artifacts/same/data"))!).digest("hex");
    expect(ok).toContain(back);
  });
});
