// Core benchmarks: compile time of a 10,000-step pipeline. The local run path against the plain-Node
// floor is measured in local-path.bench.ts (its floor does not write orch's layout, so the layout's
// cost shows).
import { compile, pipeline, step } from "@orch/core";
import type { BenchResult } from "./measure.js";
import { median, timeMs } from "./measure.js";

const RUNS = 5;
const noop = step({ name: "noop" }, (..._inputs: number[]) => 1);

const chain = (n: number) =>
  pipeline({ name: "compile_10k" }, () => {
    let value = noop();
    for (let i = 1; i < n; i++) value = noop(value, i);
  });

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const compileTimes: number[] = [];
  const big = chain(10_000);
  for (let i = 0; i < RUNS; i++) compileTimes.push(await timeMs(async () => void compile(big, {}, { projectRoot: process.cwd() })));
  results.push({ name: "compile a 10,000-step pipeline, per step", value: (median(compileTimes) * 1000) / 10_000, unit: "µs", budget: 20 });
  return results;
}
