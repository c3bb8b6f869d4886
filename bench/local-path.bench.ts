// The local path against the physical floor (issue 11). Two 1,000-step shapes of no-op steps with
// everything persisted (artifacts, journal, cache entries, the index):
//   W2  1 → 1,000 → 1
//   W3  20 layers × 50, two parents each
// The floor is the simplest honest plain-Node program for the same DAG: each task reads its parents'
// small JSON results and writes its own as one file (no fsync), 2 in flight. It does NOT write orch's
// layout — the layout is part of what is measured. orch runs with maxParallelism 2 as well.
//
// The machine is shared, so every comparison alternates its contestants within one run and reports
// medians of REPS; read the ratios.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, defineStack, type Snapshot } from "@orch/core";
import { local } from "@orch/plugin-local";
import pLimit from "p-limit";
import type { BenchResult } from "./measure.js";
import { median, timeMs } from "./measure.js";
import { fan, layered, tiny } from "./fixtures/local-shapes.js";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const IN_FLIGHT = 2;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI_DIR = join(ROOT, "packages", "cli");
const BIN = join(CLI_DIR, "bin", "orch.js");
const FIXTURE = join(ROOT, "bench", "fixtures", "local-shapes.ts");

/** The floor: read the parents' JSON results, write one JSON file, 2 tasks in flight. */
async function plainFloor(snapshot: Snapshot, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const limit = pLimit(IN_FLIGHT);
  const done = new Map<string, Promise<void>>();
  for (const id of snapshot.order) {
    const parents = snapshot.steps[id]!.upstream;
    const task = Promise.all(parents.map((p) => done.get(p))).then(() =>
      limit(async () => {
        const inputs = await Promise.all(parents.map(async (p) => JSON.parse(await readFile(join(dir, `${p}.json`), "utf8")) as { value: number }));
        await writeFile(join(dir, `${id}.json`), JSON.stringify({ id, value: inputs.length + 1 }));
      }),
    );
    done.set(id, task);
  }
  await Promise.all(done.values());
}

const fresh = () => mkdtempSync(join(tmpdir(), "orch-bench-local-"));
const stackIn = (dir: string) =>
  defineStack({ name: "bench", orchestrator: local({ maxParallelism: IN_FLIGHT }), artifactStore: { flavor: "local", config: { path: join(dir, "orch") } } });

async function runApi(definition: ReturnType<typeof fan>, dir: string): Promise<void> {
  const result = await definition.run({ stack: stackIn(dir), projectRoot: ROOT, handleSignals: false });
  if (result.status !== "succeeded") throw new Error(`bench run ${result.status}`);
}

// ── the CLI ────────────────────────────────────────────────────────────────────────────────────────

/** A project under packages/cli/.tmp (so it resolves @orch/core like a user's project), orch init'ed, parallelism 2. */
function cliProject(): string {
  const base = join(CLI_DIR, ".tmp", "bench-local");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, "p-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "bench-local", private: true, type: "module" }));
  copyFileSync(FIXTURE, join(dir, "shapes.ts"));
  orchSync(dir, ["init"]);
  orchSync(dir, ["orchestrator", "update", "default", `--maxParallelism=${IN_FLIGHT}`]);
  return dir;
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ORCH_CLI_FROM_SOURCE: "1", NO_COLOR: "1", ...extra };
  delete env.NODE_OPTIONS;
  delete env.ORCH_HOME;
  return env;
}

function orchSync(cwd: string, args: string[]): void {
  execFileSync(process.execPath, [BIN, ...args], { cwd, env: cliEnv(), stdio: ["ignore", "ignore", "pipe"] });
}

/** Wall time of `orch pipeline run`; on a pseudo-terminal (live view) with `tty`. Returns ms and bytes printed. */
function timeCli(dir: string, spec: string, options: { tty?: boolean; env?: Record<string, string> } = {}): Promise<{ ms: number; bytes: number }> {
  const args = [BIN, "pipeline", "run", spec];
  const [command, commandArgs] = options.tty
    ? ["script", ["-qec", `stty rows 40 cols 120; ${[process.execPath, ...args].map((a) => `'${a}'`).join(" ")}`, "/dev/null"]]
    : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, commandArgs as string[], { cwd: dir, env: cliEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let bytes = 0;
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (bytes += d.length));
    child.stderr.on("data", (d: Buffer) => {
      bytes += d.length;
      stderr += d.toString();
    });
    child.on("close", (code) => {
      const ms = performance.now() - start;
      if (code !== 0) reject(new Error(`orch pipeline run ${spec} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ms, bytes });
    });
  });
}

// ── measurements ───────────────────────────────────────────────────────────────────────────────────

interface ShapeResult {
  floor: number;
  api: number;
  cli: number;
}

async function measureShape(name: "W2" | "W3"): Promise<ShapeResult> {
  const definition = name === "W2" ? fan(1000) : layered(20, 50);
  const snapshot = compile(definition, {}, { projectRoot: ROOT });
  const floor: number[] = [];
  const api: number[] = [];
  const cli: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const contestants: (() => Promise<void>)[] = [
      async () => {
        const dir = fresh();
        floor.push(await timeMs(() => plainFloor(snapshot, dir)));
        rmSync(dir, { recursive: true, force: true });
      },
      async () => {
        const dir = fresh();
        api.push(await timeMs(() => runApi(definition, dir)));
        rmSync(dir, { recursive: true, force: true });
      },
      async () => {
        // Wall of the 1,000-step run minus a 3-step run: start-up (tsx, plugin loading) cancels out.
        const project = cliProject();
        const small = cliProject();
        const big = await timeCli(project, `shapes.ts#${name}`);
        const three = await timeCli(small, "shapes.ts#tiny");
        cli.push(big.ms - three.ms);
        rmSync(project, { recursive: true, force: true });
        rmSync(small, { recursive: true, force: true });
      },
    ];
    // Rotate who goes first, so none always runs on the warmest (or fullest) page cache.
    for (let i = 0; i < contestants.length; i++) {
      execFileSync("sync");
      await contestants[(i + rep) % contestants.length]!();
    }
  }
  return { floor: median(floor), api: median(api), cli: median(cli) };
}

/** The fully cached re-run of W2 (same store, nothing changed) against the floor. */
async function measureCached(): Promise<{ floor: number; cached: number }> {
  const definition = fan(1000);
  const snapshot = compile(definition, {}, { projectRoot: ROOT });
  const floor: number[] = [];
  const cached: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const dir = fresh();
    await runApi(definition, dir);
    const pair = [
      async () => cached.push(await timeMs(() => runApi(definition, dir))),
      async () => {
        const floorDir = fresh();
        floor.push(await timeMs(() => plainFloor(snapshot, floorDir)));
        rmSync(floorDir, { recursive: true, force: true });
      },
    ];
    for (let i = 0; i < 2; i++) await pair[(i + rep) % 2]!();
    rmSync(dir, { recursive: true, force: true });
  }
  return { floor: median(floor), cached: median(cached) };
}

/** One W2 fan of `n` middle steps in a fresh process, the floor's or orch's (pipeline.run()): its wall and peak RSS. */
function fanInChild(mode: "floor" | "orch", n: number): Promise<{ ms: number; maxRssMiB: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", join(ROOT, "bench", "fixtures", "fan-child.ts"), mode, String(n)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`fan-child ${mode} ${n} exited ${code}`))));
  });
}

/**
 * Peak RSS of `orch pipeline run` for the 10,000-step fan — the process a user runs — read by GNU time
 * (`/usr/bin/time -f %M`), since Node cannot see a child's peak RSS.
 */
function cliPeakRssMiB(): Promise<number> {
  if (!existsSync("/usr/bin/time")) {
    console.log("  CLI peak RSS: skipped, /usr/bin/time (GNU time) is not installed (apt-get install time)");
    return Promise.resolve(Number.NaN);
  }
  const dir = cliProject();
  writeFileSync(join(dir, "shapes.ts"), `${readFileSync(FIXTURE, "utf8")}\nexport const F10K = fan(10_000);\n`);
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "ORCH_MAXRSS_KIB=%M", process.execPath, BIN, "pipeline", "run", "shapes.ts#F10K"], { cwd: dir, env: cliEnv(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => {
      rmSync(dir, { recursive: true, force: true });
      const kib = /ORCH_MAXRSS_KIB=(\d+)/.exec(stderr)?.[1];
      if (code !== 0 || !kib) reject(new Error(`orch pipeline run of the 10,000-step fan exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(Number(kib) / 1024);
    });
  });
}

async function measureLiveView(): Promise<{ plain: number; tty: number; plainBytes: number; ttyBytes: number }> {
  const plain: number[] = [];
  const tty: number[] = [];
  let plainBytes = 0;
  let ttyBytes = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const pair = [
      async () => {
        const dir = cliProject();
        const r = await timeCli(dir, "shapes.ts#W2");
        plain.push(r.ms);
        plainBytes = r.bytes;
        rmSync(dir, { recursive: true, force: true });
      },
      async () => {
        const dir = cliProject();
        const r = await timeCli(dir, "shapes.ts#W2", { tty: true });
        tty.push(r.ms);
        ttyBytes = r.bytes;
        rmSync(dir, { recursive: true, force: true });
      },
    ];
    for (let i = 0; i < 2; i++) await pair[(i + rep) % 2]!();
  }
  return { plain: median(plain), tty: median(tty), plainBytes, ttyBytes };
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const perStep = (ms: number, steps: number) => ms / steps;
  for (const shape of ["W2", "W3"] as const) {
    const steps = shape === "W2" ? 1002 : 1000;
    const r = await measureShape(shape);
    const title = shape === "W2" ? "W2 1 → 1,000 → 1" : "W3 20 layers × 50, 2 parents";
    results.push(
      { name: `${title}: plain-Node floor, per step`, value: perStep(r.floor, steps), unit: "ms" },
      { name: `${title}: local via pipeline.run(), per step`, value: perStep(r.api, steps), unit: "ms" },
      { name: `${title}: local via the CLI (1,000 − 3 steps), per step`, value: perStep(r.cli, steps - 3), unit: "ms" },
      { name: `${title}: pipeline.run() / floor`, value: r.api / r.floor, unit: "×", budget: 2 },
      { name: `${title}: CLI / floor`, value: perStep(r.cli, steps - 3) / perStep(r.floor, steps), unit: "×", budget: 2 },
    );
  }
  const cached = await measureCached();
  results.push(
    { name: "W2 fully cached re-run (pipeline.run()), per step", value: perStep(cached.cached, 1002), unit: "ms" },
    { name: "W2 fully cached re-run / floor", value: cached.cached / cached.floor, unit: "×", budget: 1 },
  );
  for (const n of [100, 1000, 10_000]) {
    // A failing size is reported, not fatal: the rest of the table still prints.
    const failed = (error: Error) => {
      console.log(`  fan of ${n}: ${error.message}`);
      return { ms: Number.NaN, maxRssMiB: Number.NaN };
    };
    const floorRun = await fanInChild("floor", n).catch(failed);
    const orchRun = await fanInChild("orch", n).catch(failed);
    results.push({ name: `fan 1 → ${n.toLocaleString("en")} → 1 via pipeline.run(), per step (floor ${(floorRun.ms / (n + 2)).toFixed(3)} ms)`, value: orchRun.ms / (n + 2), unit: "ms" });
    if (n === 10_000) results.push({ name: "fan of 10,000 via pipeline.run(): peak RSS of the process (tsx, sources)", value: orchRun.maxRssMiB, unit: "MiB" });
  }
  results.push({ name: "fan of 10,000 via `orch pipeline run`: peak RSS of the CLI process", value: await cliPeakRssMiB().catch((error: Error) => (console.log(`  ${error.message}`), Number.NaN)), unit: "MiB", budget: 200 });
  const live = await measureLiveView();
  results.push(
    { name: `live view on a terminal vs plain output, W2 via the CLI (${(live.ttyBytes / 1024).toFixed(0)} KiB vs ${(live.plainBytes / 1024).toFixed(0)} KiB printed)`, value: (live.tty / live.plain - 1) * 100, unit: "%", budget: 5 },
  );
  rmSync(join(CLI_DIR, ".tmp", "bench-local"), { recursive: true, force: true });
  return results;
}
