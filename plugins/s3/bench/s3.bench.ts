// s3 store benchmarks (issue 12), on s3rver (a real S3 protocol server, in its own process on 127.0.0.1):
//  1. save + load of a 1 GiB artifact through orch (saveArtifact / loadOutput with the stream materializer) vs a plain
//     @aws-sdk/lib-storage Upload and GetObject of the same bytes (lib-storage defaults), with the peak
//     RSS growth of the client. Each operation runs in a fresh process (s3-worker.ts) so every RSS
//     number starts from the same baseline; two rounds, the second in the opposite order, and the
//     mean of the two is reported (the machine is shared, so single numbers are noisy).
//  2. per-step overhead of the 1 → 200 → 1 no-op pipeline on the local orchestrator with the s3 store
//     vs the local store.
// ORCH_BENCH_S3_BYTES changes the artifact size (default 1 GiB).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { defineStack, localArtifactStore, pipeline, step } from "@orch/core";
import { local } from "@orch/plugin-local";
import type { BenchResult } from "../../../bench/measure.js";
import { startS3rver } from "../test/s3rver.js";
import { s3 } from "../src/index.js";

const MiB = 1024 * 1024;
const BYTES = Number(process.env.ORCH_BENCH_S3_BYTES ?? 1024 * MiB);
const BUCKET = "orch-bench";

const noop = step({ name: "noop" }, (..._inputs: number[]) => 1);
const wide = pipeline({ name: "wide_200" }, () => {
  const root = noop();
  noop(...Array.from({ length: 200 }, (_, i) => noop(root, i)));
});

const WORKER = fileURLToPath(new URL("./s3-worker.ts", import.meta.url));

async function worker(op: string, endpoint: string): Promise<{ ms: number; rssMiB: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--conditions=@orch/source", "--import", "tsx", WORKER, op, endpoint, BUCKET, String(BYTES)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as { ms: number; rssMiB: number };
}

export async function run(): Promise<BenchResult[]> {
  const server = await startS3rver([BUCKET]);
  const connection = { endpoint: server.endpoint, forcePathStyle: true, ...server.credentials };
  const results: BenchResult[] = [];
  try {
    const gib = (BYTES / 1024 / MiB).toFixed(2);
    const rounds: Record<string, { ms: number; rssMiB: number }[]> = {};
    for (const order of [["store", "plain"], ["plain", "store"]]) {
      for (const phase of ["save", "load"]) {
        for (const who of order) (rounds[`${who}-${phase}`] ??= []).push(await worker(`${who}-${phase}`, server.endpoint));
      }
    }
    const mean = (op: string, field: "ms" | "rssMiB") => rounds[op]!.reduce((sum, r) => sum + r[field], 0) / rounds[op]!.length;
    const ours = mean("store-save", "ms") + mean("store-load", "ms");
    const plain = mean("plain-save", "ms") + mean("plain-load", "ms");
    results.push(
      { name: `save ${gib} GiB: orch artifact (streamed)`, value: mean("store-save", "ms"), unit: "ms" },
      { name: `save ${gib} GiB: plain lib-storage Upload`, value: mean("plain-save", "ms"), unit: "ms" },
      { name: `load ${gib} GiB: orch artifact (streamed)`, value: mean("store-load", "ms"), unit: "ms" },
      { name: `load ${gib} GiB: plain GetObject`, value: mean("plain-load", "ms"), unit: "ms" },
      { name: "save+load: orch artifact / plain SDK", value: ours / plain, unit: "×", budget: 1.3 },
      { name: "peak RSS growth, orch artifact save", value: mean("store-save", "rssMiB"), unit: "MiB", budget: 150 },
      { name: "peak RSS growth, orch artifact load", value: mean("store-load", "rssMiB"), unit: "MiB", budget: 150 },
      { name: "peak RSS growth, plain Upload (reference)", value: mean("plain-save", "rssMiB"), unit: "MiB" },
      { name: "peak RSS growth, plain GetObject (reference)", value: mean("plain-load", "rssMiB"), unit: "MiB" },
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
