// Pipelines the local_docker tests run. This file is copied into a temporary project (src/pipelines.ts)
// whose node_modules link @orch/core and tsx, and every step runs in its own container.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { getStepContext, pipeline, step } from "@orch/core";

// --- the quickstart: load → split → train → evaluate (a least-squares line) --------------------
export const loadData = step({ name: "load_data" }, () => {
  const points = Array.from({ length: 40 }, (_, i) => ({ x: i, y: 3 * i + 2 + ((i * 7) % 5) - 2 }));
  getStepContext().logger.info(`loaded ${points.length} points in container ${process.env.HOSTNAME ?? "?"}`);
  return points;
});

export const split = step({ name: "split", outputs: ["train", "test"] as const }, (points: { x: number; y: number }[]) => ({
  train: points.filter((_, i) => i % 4 !== 0),
  test: points.filter((_, i) => i % 4 === 0),
}));

export const train = step({ name: "train" }, (points: { x: number; y: number }[]) => {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const slope = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return { slope, intercept: my - slope * mx, pid: process.pid, uid: process.getuid?.() };
});

export const evaluate = step({ name: "evaluate" }, (model: { slope: number; intercept: number }, points: { x: number; y: number }[]) => {
  const mse = points.reduce((s, p) => s + (model.slope * p.x + model.intercept - p.y) ** 2, 0) / points.length;
  getStepContext().logger.info(`mse=${mse.toFixed(3)}`);
  return { mse, hostname: process.env.HOSTNAME };
});

export const quickstart = pipeline({ name: "quickstart" }, () => {
  const data = loadData();
  const { train: trainSet, test } = split(data);
  evaluate(train(trainSet), test);
});

// --- failures ---------------------------------------------------------------------------------
export const explode = step({ name: "explode", retry: { maxRetries: 0 } }, () => {
  console.log("container says: about to explode (marker-7f3a)");
  console.error("stderr says: goodbye (marker-9c2e)");
  throw new Error("kaboom from inside the container");
});

export const failing = pipeline({ name: "failing" }, () => {
  explode();
});

export const hog = step({ name: "hog", resources: { memory: "64MB" }, cache: false }, () => {
  getStepContext().logger.info("allocating 512 MB (marker-hog)");
  const chunks: Buffer[] = [];
  for (let i = 0; i < 64; i++) chunks.push(Buffer.alloc(8 * 1024 * 1024, i)); // 512 MB, filled so the pages are real
  return chunks.length;
});

export const memoryHog = pipeline({ name: "memory_hog" }, () => {
  hog();
});

export const exitHard = step({ name: "exit_hard", cache: false }, () => {
  console.log("leaving without a word (marker-exit)");
  process.exit(3);
});

export const crashing = pipeline({ name: "crashing" }, () => {
  exitHard();
});

// --- stop ---------------------------------------------------------------------------------------
export const sleeper = step({ name: "sleeper", cache: false }, async () => {
  await sleep(120_000);
  return "woke up";
});

export const sleepy = pipeline({ name: "sleepy" }, () => {
  sleeper();
  sleeper();
});

export const ticker = step({ name: "ticker", cache: false }, async () => {
  for (let i = 1; i <= 4; i++) {
    console.log(`tick ${i}`);
    await sleep(400);
  }
  return 4;
});

export const ticking = pipeline({ name: "ticking" }, () => {
  ticker();
});

export const stubborn = step({ name: "stubborn", timeout: 1, retry: { maxRetries: 0 }, cache: false }, async () => {
  await sleep(120_000); // ignores its abort signal, so the process outlives the runner's timeout
  return "never";
});

export const timingOut = pipeline({ name: "timing_out" }, () => {
  stubborn();
});

// --- resources, parallelism, retries ------------------------------------------------------------
function readFirst(paths: string[]): string | undefined {
  for (const path of paths) if (existsSync(path)) return readFileSync(path, "utf8").trim();
  return undefined;
}

export const limits = step({ name: "limits", resources: { memory: "256MiB", cpuCount: 0.5 }, cache: false }, () => ({
  memory: readFirst(["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]),
  cpu: readFirst(["/sys/fs/cgroup/cpu.max"]) ?? `${readFirst(["/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"])} ${readFirst(["/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us"])}`,
  env: process.env.GREETING,
  network: readFirst(["/proc/net/dev"])?.split("\n").slice(2).map((l) => l.trim().split(":")[0]),
}));

export const resources = pipeline({ name: "resources" }, () => {
  limits();
});

/** Each side writes its marker to /shared and waits for the other's: only parallel containers both finish. */
export const rendezvous = step({ name: "rendezvous", cache: false }, async (me: string, other: string) => {
  writeFileSync(`/shared/${me}`, me);
  for (let i = 0; i < 600 && !existsSync(`/shared/${other}`); i++) await sleep(50);
  if (!existsSync(`/shared/${other}`)) throw new Error(`${other} never showed up: steps did not run in parallel`);
  return `${me} met ${other}`;
});

export const parallel = pipeline({ name: "parallel" }, () => {
  rendezvous("left", "right");
  rendezvous("right", "left");
});

export const flaky = step({ name: "flaky", retry: { maxRetries: 2, delay: 0 }, cache: false }, () => {
  const attempt = getStepContext().attempt;
  if (attempt < 2) throw new Error(`attempt ${attempt} fails on purpose`);
  return attempt;
});

export const retrying = pipeline({ name: "retrying" }, () => {
  flaky();
});

// --- dynamic ------------------------------------------------------------------------------------
export const listShards = step({ name: "list_shards" }, () => [1, 2, 3]);
export const square = step({ name: "square" }, (n: number) => n * n);
export const total = step({ name: "total" }, (...values: number[]) => values.reduce((a, b) => a + b, 0));

export const fanOut = pipeline({ name: "fan_out", dynamic: true }, async () => {
  const shards = await listShards().load();
  const squares = shards.map((n) => square(n));
  total(...squares);
});

// --- bench: a no-op step ------------------------------------------------------------------------
export const noop = step({ name: "noop", cache: false }, () => 0);

export const noops = pipeline({ name: "noops" }, (p: { count: number }) => {
  for (let i = 0; i < p.count; i++) noop();
});

/** How the step process was started: from the bundle precompiled at submit, or through tsx. */
export const whereAmI = step({ name: "where_am_i", cache: false }, () => ({
  entry: process.argv[1] ?? "",
  compiledRoot: process.env.ORCH_COMPILED_ROOT ?? null,
  typescriptLoader: process.execArgv.includes("tsx"),
}));
export const startup = pipeline({ name: "startup" }, () => {
  whereAmI();
});
