// Core benchmarks (issue 2): compile time of a 10,000-step pipeline, and orchestration overhead of
// 1,000 no-op steps on the local orchestrator against a plain-Node floor writing the same files.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile, defineStack, pipeline, sha256, step, type StepOutput } from "@orch/core";
import { local } from "@orch/plugin-local";
import pLimit from "p-limit";
import type { BenchResult } from "./measure.js";
import { median, timeMs } from "./measure.js";

const RUNS = 5;
const noop = step({ name: "noop" }, (..._inputs: number[]) => 1);

const wide = (n: number) =>
  pipeline({ name: "wide" }, () => {
    // Each step gets its own index, so no two share a cache key: every step really runs and writes.
    const root = noop();
    const middle = Array.from({ length: n }, (_, i) => noop(root, i));
    noop(...middle);
  });

const layered = (layers: number, width: number) =>
  pipeline({ name: "layered" }, () => {
    let previous: StepOutput<number>[] = Array.from({ length: width }, (_, i) => noop(i));
    for (let layer = 1; layer < layers; layer++) {
      previous = previous.map((_, i) => noop(previous[i]!, previous[(i + 1) % width]!, layer * width + i));
    }
  });

const chain = (n: number) =>
  pipeline({ name: "compile_10k" }, () => {
    let value = noop();
    for (let i = 1; i < n; i++) value = noop(value, i);
  });

const PARALLELISM = 16;

/**
 * The same DAG as direct function calls writing the same files (record twice, artifact data + meta,
 * cache entry, all temp + rename), layer by layer with the same parallelism as the orchestrator.
 */
async function plainNodeFloor(dir: string, layersOfIds: string[][], upstream: Map<string, string[]>) {
  const limit = pLimit(PARALLELISM);
  const write = async (file: string, text: string) => {
    const temp = `${file}.tmp`;
    await writeFile(temp, text);
    await rename(temp, file);
  };
  await mkdir(join(dir, "steps"), { recursive: true });
  await mkdir(join(dir, "cache"), { recursive: true });
  const values = new Map<string, number>();
  for (const layer of layersOfIds) {
    await Promise.all(
      layer.map((id) => limit(async () => {
        await write(join(dir, "steps", `${id}.json`), JSON.stringify({ id, status: "running" }));
        const inputs = (upstream.get(id) ?? []).map((u) => values.get(u)!);
        const value = ((..._i: number[]) => 1)(...inputs);
        values.set(id, value);
        const artifactDir = join(dir, "artifacts", id);
        await mkdir(artifactDir, { recursive: true });
        const data = JSON.stringify(value);
        await write(join(artifactDir, "data"), data);
        await write(join(artifactDir, "meta.json"), JSON.stringify({ id, hash: sha256(data) }));
        await write(join(dir, "cache", `${sha256(id)}.json`), JSON.stringify({ id }));
        await write(join(dir, "steps", `${id}.json`), JSON.stringify({ id, status: "succeeded" }));
      })),
    );
  }
}

function layersOf(snapshot: ReturnType<typeof compile>): string[][] {
  const depth = new Map<string, number>();
  const layers: string[][] = [];
  for (const id of snapshot.order) {
    const d = Math.max(-1, ...snapshot.steps[id]!.upstream.map((u) => depth.get(u)!)) + 1;
    depth.set(id, d);
    (layers[d] ??= []).push(id);
  }
  return layers;
}

async function orchestrationOverhead(name: string, build: () => ReturnType<typeof pipeline>): Promise<BenchResult[]> {
  const definition = build();
  const snapshot = compile(definition, {}, { projectRoot: process.cwd() });
  const steps = snapshot.order.length;
  const upstream = new Map(snapshot.order.map((id) => [id, snapshot.steps[id]!.upstream]));
  const layers = layersOf(snapshot);
  const orchTimes: number[] = [];
  const floorTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = await mkdtemp(join(tmpdir(), "orch-bench-"));
    const stack = defineStack({ name: "bench", orchestrator: local({ maxParallelism: PARALLELISM }), artifactStore: { flavor: "local", config: { path: join(dir, "orch") } } });
    // Flush dirty pages first: otherwise whichever runs second pays for the first one's writeback.
    const flush = () => execFileSync("sync");
    const runOrch = async () => {
      flush();
      orchTimes.push(
        await timeMs(async () => {
          const result = await definition.run({ stack, projectRoot: process.cwd(), handleSignals: false });
          if (result.status !== "succeeded") throw new Error(`bench run ${result.status}`);
        }),
      );
    };
    const runFloor = async () => {
      flush();
      floorTimes.push(await timeMs(() => plainNodeFloor(join(dir, "floor"), layers, upstream)));
    };
    // Alternate which goes first, so neither always runs on a warmer (or fuller) page cache.
    if (i % 2 === 0) await runOrch().then(runFloor);
    else await runFloor().then(runOrch);
    await rm(dir, { recursive: true, force: true });
  }
  const orch = median(orchTimes);
  const floor = median(floorTimes);
  return [
    { name: `${name}: local orchestrator, ${steps} steps (wall)`, value: orch, unit: "ms" },
    { name: `${name}: plain-Node floor, same DAG and files (wall)`, value: floor, unit: "ms" },
    { name: `${name}: orchestration overhead per step`, value: (orch - floor) / steps, unit: "ms", budget: 1 },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const compileTimes: number[] = [];
  const big = chain(10_000);
  for (let i = 0; i < RUNS; i++) compileTimes.push(await timeMs(async () => void compile(big, {}, { projectRoot: process.cwd() })));
  results.push({ name: "compile a 10,000-step pipeline, per step", value: (median(compileTimes) * 1000) / 10_000, unit: "µs", budget: 20 });
  results.push(...(await orchestrationOverhead("(a) 1 → 1,000 parallel → 1", () => wide(1000))));
  results.push(...(await orchestrationOverhead("(b) 20 layers × 50, 2 parents each", () => layered(20, 50))));
  return results;
}
