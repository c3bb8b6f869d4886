// `pnpm bench`: runs every package's benchmark and prints median numbers against their budgets.
// A benchmark, not a test: it reports; it does not fail CI.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchResult } from "./measure.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const suites: [string, string][] = [
  ["core", "bench/core.bench.ts"],
  ["local", "bench/local-path.bench.ts"],
  ["isolation", "bench/isolation.bench.ts"],
  ["cli", "packages/cli/bench/cli.bench.ts"],
  ["local-docker", "plugins/local-docker/bench/docker.bench.ts"],
  ["s3", "plugins/s3/bench/s3.bench.ts"],
  ["dashboard", "bench/dashboard.bench.ts"],
  ["kfp", "bench/kfp-compile.bench.ts"],
  ["registry", "bench/registry.bench.ts"],
];

const only = process.argv.slice(2);
let overBudget = 0;
for (const [name, file] of suites) {
  if (only.length && !only.includes(name)) continue;
  const path = `${root}${file}`;
  if (!existsSync(path)) {
    console.log(`\n## ${name}: skipped (${file} not found)`);
    continue;
  }
  console.log(`\n## ${name}`);
  try {
    const module = (await import(pathToFileURL(path).href)) as { run(): Promise<BenchResult[] | Record<string, { medianMs: number; budgetMs: number }>> };
    const raw = await module.run();
    const results: BenchResult[] = Array.isArray(raw)
      ? raw
      : Object.entries(raw).map(([label, r]) => ({ name: label, value: r.medianMs, unit: "ms" as const, budget: r.budgetMs }));
    for (const r of results) {
      const ok = r.budget === undefined || r.value <= r.budget; // NaN counts as over
      const within = r.budget === undefined ? "" : ok ? `  ✓ budget ${r.budget} ${r.unit}` : `  ✗ OVER budget ${r.budget} ${r.unit}`;
      if (!ok) overBudget++;
      console.log(`  ${r.name.padEnd(62)} ${r.value.toFixed(r.value < 10 ? 3 : 1).padStart(10)} ${r.unit}${within}`);
    }
  } catch (error) {
    console.log(`  failed: ${(error as Error).stack ?? error}`);
  }
}
console.log(`\n${overBudget === 0 ? "all numbers within budget" : `${overBudget} number(s) over budget`} (medians of repeated runs)`);
