import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** One module resolution seen while the plugin entry was imported. */
export interface ProbeRecord {
  kind: "import" | "require";
  specifier: string;
  parent: string | null;
  url: string;
}

export interface ProbeResult {
  /** Every resolution, in order. */
  records: ProbeRecord[];
  /** kind and flavor of the entry's default export. */
  plugin: { kind: string | null; flavor: string | null };
}

export interface ProbeOptions {
  /** Path or file URL of the plugin entry module. */
  entry: string;
  /** Folder the child process runs in (and resolves tsx from); default: the entry's folder. */
  cwd?: string;
  timeoutMs?: number;
}

const PROBE_DIR = new URL("../probe/", import.meta.url);
const TYPESCRIPT = /\.(c|m)?tsx?$/;

/**
 * Imports the plugin entry — and nothing else — in a fresh Node process and records every module
 * its graph resolves (ESM resolve hooks plus CommonJS require). This is how the suite proves a
 * plugin's SDK is not loaded before `create()`: Node's ESM loader has no module cache to inspect,
 * and the test process itself has long loaded everything.
 */
export async function probePluginEntry(options: ProbeOptions): Promise<ProbeResult> {
  const entryUrl = options.entry.startsWith("file:") ? options.entry : pathToFileURL(options.entry).href;
  const entryPath = fileURLToPath(entryUrl);
  const cwd = options.cwd ?? join(entryPath, "..");
  const workDir = await mkdtemp(join(tmpdir(), "orch-testkit-probe-"));
  const out = join(workDir, "resolutions.jsonl");
  try {
    const args = ["--conditions=@orch/source"];
    if (TYPESCRIPT.test(entryPath)) args.push("--import", tsxLoader(cwd));
    args.push("--import", new URL("preload.mjs", PROBE_DIR).href, fileURLToPath(new URL("main.mjs", PROBE_DIR)), entryUrl);
    const { code, stdout, stderr } = await run(process.execPath, args, { cwd, env: { ...process.env, ORCH_TESTKIT_PROBE_OUT: out } }, options.timeoutMs ?? 30_000);
    if (code !== 0) {
      throw new Error(`Importing the plugin entry ${entryPath} in a fresh Node process failed (exit ${code}):\n${stderr.trim() || stdout.trim()}`);
    }
    const text = await readFile(out, "utf8").catch(() => "");
    const records = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ProbeRecord);
    const lastLine = stdout.trim().split("\n").pop() ?? "{}";
    return { records, plugin: JSON.parse(lastLine) as ProbeResult["plugin"] };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The resolutions that load `sdk` (the package itself or one of its subpaths). */
export function findSdkLoads(records: ProbeRecord[], sdk: string): ProbeRecord[] {
  return records.filter(
    (r) =>
      r.specifier === sdk ||
      r.specifier.startsWith(`${sdk}/`) ||
      r.url.includes(`/node_modules/${sdk}/`) ||
      // built-ins, with or without the node: prefix on either side
      r.url === sdk ||
      r.url === `node:${sdk}`,
  );
}

/** "src/client.ts" for a file URL under `root`, the URL itself otherwise. */
export function displayModule(url: string | null, root: string): string {
  if (!url) return "(the entry)";
  if (!url.startsWith("file:")) return url;
  const path = relative(root, fileURLToPath(url));
  return path.startsWith("..") ? fileURLToPath(url) : path;
}

function tsxLoader(cwd: string): string {
  for (const base of [join(cwd, "package.json"), fileURLToPath(import.meta.url)]) {
    try {
      return pathToFileURL(createRequire(base).resolve("tsx")).href;
    } catch {
      // try the next place
    }
  }
  throw new Error(`The plugin entry is TypeScript, and tsx is not installed (looked from ${cwd} and @orch/testkit). Add tsx to your devDependencies or point \`entry\` at the built JavaScript.`);
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolvePromise, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Importing the plugin entry took longer than ${timeoutMs / 1000}s (does it do work at import time?).`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}
