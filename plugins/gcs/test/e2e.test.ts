/**
 * End to end: a real pipeline on a `local` orchestrator + `gcs` artifact store stack, through
 * `pipeline.run()` in this process and through the real `orch` binary as a child process, with the
 * journal, artifacts and logs landing in the fake Cloud Storage bucket.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineStack, getStepContext, pipeline, step } from "@orch/core";
import { local } from "@orch/plugin-local";
import { configSchema, gcs } from "../src/index.js";
import { createGcsStore } from "../src/store.js";
import { startFakeGcs, type FakeGcs } from "./fake-gcs-server.js";

const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const orchBin = join(pluginRoot, "node_modules", "@orch", "cli", "bin", "orch.js");
// Inside this package, so the project's own dependencies (@orch/core, @orch/plugin-local) resolve from its node_modules.
mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });

let fake: FakeGcs;
const dirs: string[] = [];
beforeAll(async () => {
  fake = await startFakeGcs({ buckets: ["orch-e2e"] });
});
afterAll(async () => {
  await fake?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(pluginRoot, ".tmp", prefix));
  dirs.push(dir);
  return dir;
};

async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const openBucketStore = (path: string) => createGcsStore(configSchema.parse({ path, apiEndpoint: fake.url }), { projectRoot: process.cwd() });

let releaseGate: () => void = () => {};
const load = step({ name: "load" }, async () => Array.from({ length: 100 }, (_, i) => i));
const slowSum = step({ name: "slow_sum" }, async (xs: number[]) => {
  getStepContext().logger.info("summing in the middle of the run");
  await new Promise<void>((resolve) => (releaseGate = resolve));
  getStepContext().logger.info("done");
  return xs.reduce((a, b) => a + b, 0);
});
const demo = pipeline({ name: "gcs_demo", cache: false }, () => {
  slowSum(load());
});

describe("pipeline.run() on a local + gcs stack", () => {
  it("keeps the journal, artifacts and logs in the bucket, and logs are readable while the step runs", async () => {
    const path = "gs://orch-e2e/in-process";
    const stack = defineStack({ name: "gcp", orchestrator: local(), artifactStore: gcs({ path, apiEndpoint: fake.url }) });
    const dir = tempDir("run-");
    const running = demo.run({ stack, projectRoot: dir, handleSignals: false });
    const observer = await openBucketStore(path);

    // Before the step ends: its first log line is already in the bucket.
    const logKey = await until(async () => (await observer.list("runs/")).find((k) => k.endsWith("/logs/slow_sum.log")), "the slow_sum log in the bucket");
    const during = Buffer.from((await observer.read(logKey))!).toString("utf8");
    expect(during).toContain("summing in the middle of the run");
    expect(during).not.toContain("done");
    releaseGate();

    const result = await running;
    expect(result.status).toBe("succeeded");
    expect(await result.load(slowSum)).toBe(4950);
    expect(result.artifactStore.flavor).toBe("gcs");
    const keys = await observer.list(`runs/${result.runId}/`);
    expect(keys).toEqual(
      expect.arrayContaining([
        `runs/${result.runId}/run.json`,
        `runs/${result.runId}/snapshot.json`,
        `runs/${result.runId}/steps/load.json`,
        `runs/${result.runId}/steps/slow_sum.json`,
        `runs/${result.runId}/logs/slow_sum.log`,
      ]),
    );
    expect(fake.objectNames("orch-e2e").some((name) => name.startsWith("in-process/artifacts/"))).toBe(true);
    expect(Buffer.from((await observer.read(logKey))!).toString("utf8")).toContain("done");
  });
});

const CLI_PIPELINE = `
import { step, pipeline, getStepContext } from "@orch/core";
import { existsSync } from "node:fs";
export const load = step({ name: "load" }, async () => [1, 2, 3, 4]);
export const slow_sum = step({ name: "slow_sum" }, async (xs: number[]) => {
  getStepContext().logger.info("halfway through slow_sum");
  while (!existsSync(process.env.GATE!)) await new Promise((r) => setTimeout(r, 50));
  getStepContext().logger.info("gate opened");
  return xs.reduce((a, b) => a + b, 0);
});
export const cli_demo = pipeline({ name: "cli_demo", cache: false }, () => { slow_sum(load()); });
`;

describe("the orch CLI with a gcs artifact store", () => {
  it("registers the store and a stack, runs a pipeline into the bucket, and shows (and follows) its logs mid-run", async () => {
    const project = tempDir("cli-");
    mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
    symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-gcs"), "dir");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "gcs-e2e", private: true, type: "module" }));
    writeFileSync(join(project, "pipeline.ts"), CLI_PIPELINE);
    const gate = join(project, "gate");
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ORCH_CLI_FROM_SOURCE: "1", GATE: gate };
    delete env.ORCH_HOME;
    const launch = (...args: string[]) => {
      const child = spawn(process.execPath, [orchBin, ...args], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
      const output = { stdout: "", stderr: "" };
      child.stdout.on("data", (d: Buffer) => (output.stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output.stderr += d.toString()));
      const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, ...output })));
      return { output, result };
    };
    const start = (...args: string[]) => launch(...args).result;
    const orch = async (...args: string[]) => {
      const result = await start(...args);
      expect(result.code, `orch ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
      return result.stdout;
    };

    await orch("init");
    await orch("artifact-store", "register", "gcs_store", "--flavor=gcs", "--path=gs://orch-e2e/cli", `--api_endpoint=${fake.url}`);
    const described = JSON.parse(await orch("artifact-store", "describe", "gcs_store", "--json")) as { flavor: string; config: Record<string, unknown> };
    expect(described).toMatchObject({ flavor: "gcs", config: { path: "gs://orch-e2e/cli", apiEndpoint: fake.url } });
    // Inline credentials are stored but never shown.
    const key = JSON.stringify({ type: "service_account", client_email: "ci@p.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----\nTOPSECRET\n-----END PRIVATE KEY-----\n" });
    await orch("artifact-store", "register", "gcs_secret", "--flavor=gcs", "--path=gs://orch-e2e/secret", `--credentials=${key}`);
    const secretJson = await orch("artifact-store", "describe", "gcs_secret", "--json");
    const secretText = await orch("artifact-store", "describe", "gcs_secret");
    expect(JSON.parse(secretJson).config.credentials).toBe("********");
    expect(secretJson + secretText).not.toContain("TOPSECRET");
    // A bad bucket name fails at registration, naming the key.
    const bad = await start("artifact-store", "register", "gcs_bad", "--flavor=gcs", "--path=gs://Bad_Bucket/x");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/\[gcs\] path: Invalid GCS path: "Bad_Bucket" is not a valid bucket name/);

    await orch("stack", "register", "gcp", "-o", "default", "-a", "gcs_store", "--set");

    const run = start("pipeline", "run", "pipeline.ts");
    const observer = await openBucketStore("gs://orch-e2e/cli");
    const logKey = await until(async () => (await observer.list("runs/")).find((k) => k.endsWith("/logs/slow_sum.log")), "the slow_sum log in the bucket");
    const runId = logKey.split("/")[1]!;
    // `orch run logs` reads the step's log from the bucket while the step is still waiting at its gate.
    const midRun = await orch("run", "logs", runId, "--step", "slow_sum");
    expect(midRun).toContain("halfway through slow_sum");
    expect(midRun).not.toContain("gate opened");
    // `orch run logs --follow` prints the line while the step runs, and the rest when it ends.
    const follow = launch("run", "logs", runId, "--step", "slow_sum", "--follow");
    await until(() => follow.output.stdout.includes("halfway through slow_sum"), "orch run logs --follow to print the first line");
    expect(follow.output.stdout).not.toContain("gate opened");
    expect(existsSync(gate)).toBe(false);

    writeFileSync(gate, "");
    const followed = await follow.result;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/halfway through slow_sum[\s\S]*gate opened/);
    const finished = await run;
    expect(finished.code, finished.stderr).toBe(0);
    const record = JSON.parse(Buffer.from((await observer.read(`runs/${runId}/run.json`))!).toString("utf8")) as { status: string };
    expect(record.status).toBe("succeeded");
    expect(await observer.exists(`runs/${runId}/steps/slow_sum.json`)).toBe(true);
    expect(await orch("run", "logs", runId, "--step", "slow_sum")).toContain("gate opened");
    expect(existsSync(join(project, ".orch", "artifacts", "runs", runId))).toBe(false); // nothing went to the local store
  });
});
