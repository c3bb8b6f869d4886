/**
 * CLI start-up benchmarks, run the way users run orch: the built CLI (dist/, built here first with
 * tsup) started as a fresh `node bin/orch.js …` process each time.
 *
 *   cold `orch --help`                    budget 150 ms (median)
 *   cold `orch stack list`                budget 250 ms
 *   `orch run list` over 10,000 runs      budget 300 ms
 *
 * Run alone: `pnpm --filter @orch/cli bench` (prints a table), or import `run()` from the root bench.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openIndex } from "@orch/store-sqlite";

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = join(PACKAGE_DIR, "..", "..");
const BIN = join(PACKAGE_DIR, "bin", "orch.js");
const RUNS = 10_000;
const SAMPLES = 7;

function build(): void {
  for (const pkg of ["store-sqlite", "cli"]) {
    execFileSync("pnpm", ["exec", "tsup", "--silent"], { cwd: join(ROOT, "packages", pkg), stdio: ["ignore", "ignore", "inherit"] });
  }
}

function time(args: string[], cwd: string): number {
  const env: NodeJS.ProcessEnv = { ...process.env, ORCH_CLI_FROM_SOURCE: "0", NO_COLOR: "1" };
  delete env.NODE_OPTIONS;
  delete env.ORCH_HOME;
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`orch ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return Math.round((sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2) * 10) / 10;
}

function measure(args: string[], cwd: string): number {
  time(args, cwd); // warm the OS file cache once; every sample is still a new process
  return median(Array.from({ length: SAMPLES }, () => time(args, cwd)));
}

function seedRuns(dbFile: string): void {
  const index = openIndex(dbFile);
  try {
    index.transaction(() => {
      const start = Date.parse("2026-01-01T00:00:00Z");
      for (let i = 0; i < RUNS; i++) {
        const at = new Date(start + i * 60_000).toISOString();
        const runId = `${at.slice(0, 10).replace(/-/g, "")}-${at.slice(11, 19).replace(/:/g, "")}-000-b${String(i).padStart(5, "0")}`;
        index.upsertRun({ runId, pipeline: i % 3 ? "training" : "etl", status: i % 17 ? "succeeded" : "failed", stack: "default", orchestrator: "local", startedAt: at, finishedAt: at, parameters: { i } });
        index.upsertStep({ runId, stepId: "load", name: "load", status: "succeeded", attempts: 1, durationMs: 12 });
        index.upsertStep({ runId, stepId: "train", name: "train", status: i % 17 ? "succeeded" : "failed", attempts: 1, durationMs: 900 });
      }
    });
  } finally {
    index.close();
  }
}

export async function run(): Promise<Record<string, { medianMs: number; budgetMs: number }>> {
  build();
  const project = join(PACKAGE_DIR, ".tmp", "bench");
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "bench", private: true, type: "module" }));
  time(["init"], project);
  const results = {
    "orch --help (cold)": { medianMs: measure(["--help"], project), budgetMs: 150 },
    "orch stack list (cold)": { medianMs: measure(["stack", "list"], project), budgetMs: 250 },
  } as Record<string, { medianMs: number; budgetMs: number }>;
  seedRuns(join(project, ".orch", "orch.db"));
  results[`orch run list (${RUNS.toLocaleString("en")} runs)`] = { medianMs: measure(["run", "list"], project), budgetMs: 300 };
  rmSync(project, { recursive: true, force: true });
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await run();
  for (const [name, { medianMs, budgetMs }] of Object.entries(results)) {
    console.log(`${medianMs <= budgetMs ? "ok  " : "OVER"}  ${name.padEnd(32)} ${String(medianMs).padStart(7)} ms  (budget ${budgetMs} ms)`);
  }
  if (Object.values(results).some((r) => r.medianMs > r.budgetMs)) process.exitCode = 1;
}
