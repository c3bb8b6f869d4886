/**
 * Test harness: temp projects, the real `orch` binary (packages/cli/bin/orch.js, run from the
 * TypeScript sources) as a child process, `orch up` started the way a user starts it, and Chromium
 * from the system's packages driven by puppeteer-core.
 *
 * Temp projects live under packages/dashboard/.tmp/ (gitignored), so their pipeline files resolve
 * @orch/core and @orch/plugin-local from this package's node_modules, as a user's project would.
 * The CLI is found by its place in the workspace, not as a dependency: @orch/cli depends on this
 * package, and a dependency back would be a cycle.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openIndex } from "@orch/store-sqlite";

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_DIR = join(PACKAGE_DIR, "..", "..");
export const BIN = join(REPO_DIR, "packages", "cli", "bin", "orch.js");
const TMP = join(PACKAGE_DIR, ".tmp", "tests");

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ORCH_CLI_FROM_SOURCE: "1", NO_COLOR: "1" };
  delete env.ORCH_HOME;
  delete env.NODE_OPTIONS;
  delete env.FORCE_COLOR;
  return { ...env, ...extra };
}

export type Child = ChildProcess & { result: Promise<Result>; output: () => { stdout: string; stderr: string } };

export function startOrch(args: string[], options: { cwd: string; env?: Record<string, string> }): Child {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: cliEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return Object.assign(child, { result, output: () => ({ stdout, stderr }) });
}

export interface TempProject {
  dir: string;
  orch(args: string[], env?: Record<string, string>): Promise<Result>;
  start(args: string[], env?: Record<string, string>): Child;
  write(file: string, contents: string): string;
  remove(): void;
}

export function createProject(prefix: string): TempProject {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, `${prefix}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: prefix, private: true, type: "module" }, null, 2));
  const start = (args: string[], env?: Record<string, string>) => startOrch(args, { cwd: dir, ...(env ? { env } : {}) });
  return {
    dir,
    start,
    orch: (args, env) => start(args, env).result,
    write(file, contents) {
      const path = join(dir, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, contents);
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningDashboard {
  url: string;
  urlWithToken: string;
  token: string;
  pid: number;
  child: Child;
  stop(): Promise<Result>;
}

/** `orch up --port 0 --json` in `cwd`; resolves once it listens. */
export async function orchUp(cwd: string, env: Record<string, string> = {}, extra: string[] = []): Promise<RunningDashboard> {
  const child = startOrch(["up", "--port", "0", "--json", ...extra], { cwd, env });
  const info = await waitFor(() => {
    const { stdout } = child.output();
    if (child.exitCode !== null) throw new Error(`orch up exited ${child.exitCode}: ${child.output().stderr}`);
    try {
      return JSON.parse(stdout) as { url: string; urlWithToken: string; pid: number };
    } catch {
      return undefined;
    }
  }, "orch up to listen", 60_000);
  return {
    ...info,
    token: new URL(info.urlWithToken).searchParams.get("token")!,
    child,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return child.result;
    },
  };
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The system's Chromium (Debian's `chromium` package), or `undefined`. ORCH_CHROMIUM overrides. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.ORCH_CHROMIUM, "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path!));
}

/**
 * Whether the browser tests can run. Without Chromium they are skipped with a loud reason — unless
 * ORCH_REQUIRE_CHROMIUM=1 (CI, after scripts/ci/setup-chromium.sh), where its absence is a failure.
 */
export function browserAvailability(): { available: boolean; reason: string } {
  const path = chromiumPath();
  if (path) return { available: true, reason: "" };
  const reason = "SKIPPED: the dashboard's browser tests need Chromium (apt-get install -y chromium, or bash scripts/ci/setup-chromium.sh; ORCH_CHROMIUM=/path overrides)";
  if (process.env.ORCH_REQUIRE_CHROMIUM === "1") return { available: true, reason };
  process.stderr.write(`\n[@orch/dashboard] ${reason}\n\n`);
  return { available: false, reason };
}

export async function launchBrowser() {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("Chromium is required here (ORCH_REQUIRE_CHROMIUM=1) but was not found: run bash scripts/ci/setup-chromium.sh");
  const puppeteer = (await import("puppeteer-core")).default;
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
  });
}

/** A two-step pipeline whose second step logs, waits for a gate file, then logs again. */
export const GATED_PIPELINE = `
import { step, pipeline, getStepContext } from "@orch/core";
import { existsSync } from "node:fs";
export const first = step({ name: "first" }, async () => 1);
export const second = step({ name: "second" }, async (x: number) => {
  const { logger, signal } = getStepContext();
  logger.info("waiting for the gate");
  while (!existsSync(process.env.GATE!)) {
    if (signal?.aborted) throw new Error("stopped");
    await new Promise((r) => setTimeout(r, 50));
  }
  logger.info("the gate is open");
  return x + 1;
});
export const third = step({ name: "third" }, async (x: number) => ({ value: x * 10 }));
export const gated = pipeline({ name: "gated", cache: false }, () => { third(second(first())); });
`;

/** A pipeline whose last step fails with an error the user can act on. */
export const FAILING_PIPELINE = `
import { step, pipeline } from "@orch/core";
export const rows = step({ name: "rows" }, async () => [{ id: 1, city: "Zürich <b>" }, { id: 2, city: "Oslo" }]);
export const check = step({ name: "check" }, async (r: unknown[]) => { throw new Error("expected 3 rows, got " + r.length); });
export const failing = pipeline({ name: "failing" }, () => { check(rows()); });
`;

/** Writes `count` finished runs straight into a project's index (one a minute from 2026-01-01; pipelines etl/train; every 10th failed). */
export function seedRuns(dbFile: string, count: number): void {
  const index = openIndex(dbFile);
  try {
    const start = Date.parse("2026-01-01T00:00:00Z");
    index.transaction(() => {
      for (let i = 0; i < count; i++) {
        const runId = `run-${String(i).padStart(5, "0")}`;
        index.upsertRun({ runId, pipeline: i % 2 ? "train" : "etl", status: i % 10 === 0 ? "failed" : "succeeded", stack: "default", orchestrator: "local", startedAt: new Date(start + i * 60_000).toISOString(), finishedAt: new Date(start + i * 60_000 + 5_000).toISOString(), parameters: {} });
        index.upsertStep({ runId, stepId: "load", name: "load", status: "succeeded", attempts: 1, durationMs: 12 });
        index.upsertStep({ runId, stepId: "train", name: "train", status: i % 3 ? "succeeded" : "cached", attempts: 1, durationMs: 40 });
      }
    });
  } finally {
    index.close();
  }
}

/** 1,000 steps: 20 layers of 50, each step needing two steps of the layer before. */
export const LAYERED_1000_PIPELINE = `
import { pipeline, step, type StepOutput } from "@orch/core";
const work = step({ name: "work" }, (..._inputs: number[]) => 1);
export const big = pipeline({ name: "layered_1000" }, () => {
  let previous: StepOutput<number>[] = Array.from({ length: 50 }, (_, i) => work(i));
  for (let layer = 1; layer < 20; layer++) previous = previous.map((_, i) => work(previous[i]!, previous[(i + 1) % 50]!, layer * 50 + i));
});
`;

/** The id of the newest run of `pipeline` in a project's index, once there is one. */
export function newestRun(dbFile: string, pipeline: string): string | undefined {
  if (!existsSync(dbFile)) return undefined;
  const index = openIndex(dbFile, { readonly: true });
  try {
    return index.listRuns({ pipeline, limit: 1 })[0]?.runId;
  } finally {
    index.close();
  }
}
