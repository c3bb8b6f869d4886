/**
 * Test harness: temp projects and the real `orch` binary (bin/orch.js) as a child process.
 *
 * Temp projects live under packages/cli/.tmp/ (gitignored), so Node's module resolution walks up to
 * packages/cli/node_modules and finds @orch/core and @orch/plugin-local exactly as a user's project
 * finds its installed packages. The binary runs from the TypeScript sources (ORCH_CLI_FROM_SOURCE=1).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseStepJournal } from "@orch/core/host/light";
import { openIndex } from "@orch/store-sqlite";

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = join(PACKAGE_DIR, "bin", "orch.js");
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

export interface StartOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Wraps the command (e.g. in `script` for a pseudo-terminal): gets [node, bin, ...args]. */
  wrap?: (command: string[]) => [string, string[]];
}

export interface TempProject {
  dir: string;
  orch(args: string[], options?: StartOptions): Promise<Result>;
  /** Starts orch without waiting (for kill -9, concurrency and `schedule serve`). */
  start(args: string[], options?: StartOptions): ChildProcess & { result: Promise<Result> };
  json<T = any>(args: string[]): Promise<T>;
  write(file: string, contents: string): string;
  remove(): void;
}

export function createProject(prefix: string, packageJson: Record<string, unknown> = {}): TempProject {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, `${prefix}-`));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: prefix, private: true, type: "module", ...packageJson }, null, 2));
  const start = (args: string[], options: StartOptions = {}) => {
    const [command, commandArgs] = options.wrap ? options.wrap([process.execPath, BIN, ...args]) : [process.execPath, [BIN, ...args]];
    const child = spawn(command, commandArgs, { cwd: options.cwd ?? dir, env: cliEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const result = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
    return Object.assign(child, { result });
  };
  const project: TempProject = {
    dir,
    orch: (args, options) => start(args, options).result,
    start,
    async json(args) {
      const result = await start(args).result;
      if (result.code !== 0) throw new Error(`orch ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    },
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
  return project;
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
/**
 * The step records of a run in a local artifact store, read from its step journal
 * (`runs/<id>/steps.jsonl`, the last line of each step wins; docs/architecture.md).
 */
export function journalRecords(storeDir: string, runId: string) {
  const file = join(storeDir, "runs", runId, "steps.jsonl");
  return parseStepJournal(existsSync(file) ? readFileSync(file, "utf8") : "") as Map<string, { stepId: string; status: string; outputs: Record<string, { artifactId: string }> } & Record<string, unknown>>;
}

export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A two-step pipeline: `load` → `sum`. */
export const SIMPLE_PIPELINE = `
import { step, pipeline } from "@orch/core";
export const load = step({ name: "load" }, async () => [1, 2, 3]);
export const sum = step({ name: "sum" }, async (xs: number[]) => xs.reduce((a, b) => a + b, 0));
export const demo = pipeline({ name: "demo" }, () => { sum(load()); });
`;

/** A pipeline whose second step waits for a gate file; each step appends its name to a trace file. */
export const GATED_PIPELINE = `
import { step, pipeline, getStepContext } from "@orch/core";
import { appendFileSync, existsSync } from "node:fs";
export const first = step({ name: "first" }, async () => { appendFileSync(process.env.TRACE!, "first\\n"); return 1; });
export const second = step({ name: "second" }, async (x: number) => {
  appendFileSync(process.env.TRACE!, "second\\n");
  const signal = getStepContext().signal;
  while (!existsSync(process.env.GATE!)) {
    if (signal?.aborted) throw new Error("stopped");
    await new Promise((r) => setTimeout(r, 50));
  }
  return x + 1;
});
export const third = step({ name: "third" }, async (x: number) => { appendFileSync(process.env.TRACE!, "third\\n"); return x * 10; });
export const gated = pipeline({ name: "gated", cache: false }, () => { third(second(first())); });
`;

/** Every row of every table of an index, for "nothing changed" assertions. */
export function dumpIndex(file: string): Record<string, unknown[]> {
  const index = openIndex(file, { readonly: true });
  try {
    const tables = index.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    return Object.fromEntries(tables.map(({ name }) => [name, index.db.prepare(`SELECT * FROM "${name}"`).all()]));
  } finally {
    index.close();
  }
}
