/**
 * End to end: real pipelines on a `local` orchestrator + `s3` artifact store stack, the store being
 * s3rver on 127.0.0.1 — through `pipeline.run()` in this process and through the real `orch` binary
 * (register the store and the stack, run, follow logs), with the journal checked in the bucket using the
 * plain AWS SDK.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { defineStack, getStepContext, pipeline, step } from "@orch/core";
import { local } from "@orch/plugin-local";
import { startS3rver, type S3rverHandle } from "../test/s3rver.js";
import { s3 } from "./index.js";

const BUCKET = "orch-e2e";
const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
// Temp projects inside this package (.tmp/ is gitignored), so they resolve @orch/core and
// @orch/plugin-local from its node_modules as a user's project resolves its installed packages.
const tmp = join(pluginRoot, ".tmp");
mkdirSync(tmp, { recursive: true });
let server: S3rverHandle;
let sdk: S3Client;

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  sdk = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...server.credentials } }); // a copy: the SDK marks the object it is given
});
afterAll(async () => {
  sdk?.destroy();
  await server?.stop();
});

/** Every key in the bucket under `prefix`, listed with the plain SDK. */
async function bucketKeys(prefix: string): Promise<string[]> {
  const out = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }));
  return (out.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)).sort();
}
async function bucketText(key: string): Promise<string> {
  return (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
}

let ran = 0;
const load = step({ name: "load" }, () => {
  ran++;
  return [1, 2, 3];
});
const double = step({ name: "double" }, (xs: number[]) => {
  getStepContext().logger.info(`doubling ${xs.length} values`);
  return xs.map((x) => x * 2);
});
const total = step({ name: "total" }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
const three = pipeline({ name: "three_steps" }, () => {
  total(double(load()));
});

describe("local orchestrator + s3 store: pipeline.run()", () => {
  const project = mkdtempSync(join(tmp, "run-"));
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  const stack = (path: string) =>
    defineStack({ name: "s3-e2e", orchestrator: local(), artifactStore: s3({ path, endpoint: server.endpoint, forcePathStyle: true, ...server.credentials }) });

  it("runs a 3-step pipeline with its journal, logs and artifacts in the bucket", async () => {
    const result = await three.run({ stack: stack(`s3://${BUCKET}/api`), projectRoot: project, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(await result.load(total)).toBe(12);
    const keys = await bucketKeys("api");
    const run = `runs/${result.runId}`;
    expect(keys).toEqual(expect.arrayContaining([`${run}/snapshot.json`, `${run}/run.json`, `${run}/steps/load.json`, `${run}/steps/double.json`, `${run}/steps/total.json`, `${run}/logs/double.log`]));
    // One object per artifact (its meta is in the step record): load, double and total.
    expect(keys.filter((k) => /^artifacts\/[^/]+$/.test(k))).toHaveLength(3);
    expect(JSON.parse(await bucketText(`api/${run}/run.json`))).toMatchObject({ status: "succeeded" });
    expect(await bucketText(`api/${run}/logs/double.log`)).toMatch(/INFO  doubling 3 values/);
    // Nothing went to the local default store.
    expect(existsSync(join(project, ".orch", "artifacts", "runs"))).toBe(false);
  });

  it("reuses cached steps from the bucket on a second run", async () => {
    const again = await three.run({ stack: stack(`s3://${BUCKET}/api`), projectRoot: project, handleSignals: false });
    expect(again.status).toBe("succeeded");
    expect(again.steps.map((s) => s.status)).toEqual(["cached", "cached", "cached"]);
  });

  it("fails at stack activation, before any step, when the bucket does not exist", async () => {
    ran = 0;
    await expect(three.run({ stack: stack("s3://no-such-bucket/x"), projectRoot: project, handleSignals: false })).rejects.toMatchObject({
      code: "E_CONFIG_INVALID",
      message: expect.stringMatching(/\[s3\] preflight on s3:\/\/no-such-bucket\/x .*does not exist/),
    });
    expect(ran).toBe(0);
  });
});

describe("local orchestrator + s3 store: the orch CLI", () => {
  // The plugin is linked into the project as `npm link` would.
  const project = mkdtempSync(join(tmp, "cli-"));
  mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-s3"), "dir");
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  const orchBin = join(pluginRoot, "node_modules", ".bin", "orch");

  function orch(args: string[], env: Record<string, string> = {}, cwd = project) {
    const child = spawn(orchBin, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
    return Object.assign(done, { output: () => stdout, child });
  }
  async function ok(args: string[], cwd = project) {
    const result = await orch(args, {}, cwd);
    expect(result.code, `orch ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  }

  it("registers an s3 store and a stack, runs a pipeline on it, and follows its logs while it runs", { timeout: 120_000 }, async () => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "s3-cli", private: true, type: "module" }));
    writeFileSync(
      join(project, "pipeline.ts"),
      `import { existsSync } from "node:fs";
import { getStepContext, pipeline, step } from "@orch/core";
const load = step({ name: "load" }, () => [1, 2, 3]);
const slow = step({ name: "slow" }, async (xs: number[]) => {
  getStepContext().logger.info("slow step started");
  while (!existsSync(process.env.GATE!)) await new Promise((r) => setTimeout(r, 50));
  getStepContext().logger.info("slow step done");
  return xs.length;
});
const report = step({ name: "report" }, (n: number) => "counted " + n);
export const gated = pipeline({ name: "gated", cache: false }, () => { report(slow(load())); });
`,
    );
    await ok(["init"]);
    await ok([
      "artifact-store", "register", "s3store", "--flavor=s3", `--path=s3://${BUCKET}/cli`, `--endpoint=${server.endpoint}`, "--force_path_style=true",
      `--access_key_id=${server.credentials.accessKeyId}`, `--secret_access_key=${server.credentials.secretAccessKey}`, "--log_flush_seconds=0.2",
    ]);
    const described = await ok(["artifact-store", "describe", "s3store"]);
    expect(described.stdout).toContain(`s3://${BUCKET}/cli`);
    expect(described.stdout).not.toContain("S3RVER");
    await ok(["stack", "register", "s3stack", "-o", "default", "-a", "s3store", "--set"]);

    const gate = join(project, "gate");
    const runId = "run-s3-cli-1";
    const running = orch(["pipeline", "run", "pipeline.ts", "--run-id", runId], { GATE: gate });
    // Once the run is in the index, `orch run logs --follow` in another process sees the slow step's
    // first line while the step still waits, and keeps following until the step ends.
    let deadline = Date.now() + 60_000;
    while ((await orch(["run", "show", runId])).code !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const follow = orch(["run", "logs", runId, "--step", "slow", "--follow"]);
    deadline = Date.now() + 60_000;
    while (!follow.output().includes("slow step started") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(follow.output()).toContain("slow step started");
    expect(existsSync(gate)).toBe(false); // the step is still running
    writeFileSync(gate, "");
    const result = await running;
    expect(result.code, result.stderr).toBe(0);
    const followed = await follow;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain("slow step done");
    for (const out of [result.stdout, result.stderr, followed.stdout, followed.stderr]) expect(out).not.toContain("S3RVER");

    const keys = await bucketKeys("cli");
    expect(keys).toEqual(expect.arrayContaining([`runs/${runId}/snapshot.json`, `runs/${runId}/run.json`, `runs/${runId}/steps/load.json`, `runs/${runId}/steps/slow.json`, `runs/${runId}/steps/report.json`, `runs/${runId}/logs/slow.log`]));
    expect(JSON.parse(await bucketText(`cli/runs/${runId}/run.json`))).toMatchObject({ status: "succeeded" });
    const show = await ok(["run", "show", runId, "--json"]);
    expect(JSON.stringify(JSON.parse(show.stdout))).toContain("succeeded");
  });

  it("resumes a run killed with kill -9, reusing the steps whose records are in the bucket", { timeout: 120_000 }, async () => {
    const gate = join(project, "gate-resume");
    const runId = "run-s3-cli-killed";
    const running = orch(["pipeline", "run", "pipeline.ts", "--run-id", runId], { GATE: gate });
    // The slow step's log in the bucket says it started (orch's own output is not a TTY, so it is buffered).
    const started = async () => (await bucketKeys("cli")).includes(`runs/${runId}/logs/slow.log`) && (await bucketText(`cli/runs/${runId}/logs/slow.log`)).includes("slow step started");
    const deadline = Date.now() + 60_000;
    while (!(await started()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await started()).toBe(true);
    running.child.kill("SIGKILL"); // the pnpm shim execs node, so this is the orch process itself
    await running;
    // The slow step did not finish: it has no final record (an in-process step writes its record once, when it ends).
    expect(await bucketKeys("cli")).not.toContain(`runs/${runId}/steps/slow.json`);
    const loadBefore = JSON.parse(await bucketText(`cli/runs/${runId}/steps/load.json`));
    expect(loadBefore).toMatchObject({ status: "succeeded" });

    writeFileSync(gate, "");
    const resumed = await orch(["run", "resume", runId], { GATE: gate });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(await bucketText(`cli/runs/${runId}/run.json`))).toMatchObject({ status: "succeeded" });
    const load = JSON.parse(await bucketText(`cli/runs/${runId}/steps/load.json`));
    const slow = JSON.parse(await bucketText(`cli/runs/${runId}/steps/slow.json`));
    expect(slow).toMatchObject({ status: "succeeded" });
    // load ran once, before the kill: its record is the one written then.
    expect(load).toEqual(loadBefore);
    expect(await bucketText(`cli/runs/${runId}/logs/slow.log`)).toContain("slow step done");
  });

  it("names the store, the path and the fix when the bucket is missing, without a stack trace", async () => {
    await ok(["artifact-store", "register", "nobucket", "--flavor=s3", "--path=s3://no-such-bucket/cli", `--endpoint=${server.endpoint}`, "--force_path_style=true", "--access_key_id=S3RVER", "--secret_access_key=S3RVER"]);
    await ok(["stack", "register", "broken", "-o", "default", "-a", "nobucket"]);
    const result = await orch(["pipeline", "run", "pipeline.ts", "--stack", "broken"], { GATE: join(project, "gate") });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\[s3\] preflight on s3:\/\/no-such-bucket\/cli .*bucket "no-such-bucket" does not exist/);
    expect(result.stderr).toMatch(/hint: Create it \(aws s3 mb s3:\/\/no-such-bucket\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("takes credentials from {{env.NAME}} references, so the index never holds them", { timeout: 120_000 }, async () => {
    // A project of its own: the index must hold no credential at all.
    const own = mkdtempSync(join(tmp, "byref-"));
    mkdirSync(join(own, "node_modules", "@orch"), { recursive: true });
    symlinkSync(pluginRoot, join(own, "node_modules", "@orch", "plugin-s3"), "dir");
    writeFileSync(join(own, "package.json"), JSON.stringify({ name: "s3-byref", private: true, type: "module" }));
    writeFileSync(join(own, "pipeline.ts"), `import { pipeline, step } from "@orch/core";\nconst one = step({ name: "one" }, () => 1);\nexport const p = pipeline({ name: "byref" }, () => { one(); });\n`);
    await ok(["init"], own);
    await ok([
      "artifact-store", "register", "byref", "--flavor=s3", `--path=s3://${BUCKET}/byref`, `--endpoint=${server.endpoint}`, "--force_path_style=true",
      "--access_key_id={{env.ORCH_TEST_S3_KEY_ID}}", "--secret_access_key={{env.ORCH_TEST_S3_SECRET}}",
    ], own);
    await ok(["stack", "register", "byref", "-o", "default", "-a", "byref", "--set"], own);
    const described = await ok(["artifact-store", "describe", "byref"], own);
    expect(described.stdout).toContain("{{env.ORCH_TEST_S3_SECRET}}"); // shown: a reference is no secret
    expect(readFileSync(join(own, ".orch", "orch.db")).includes(server.credentials.accessKeyId)).toBe(false);

    const credentials = { ORCH_TEST_S3_KEY_ID: server.credentials.accessKeyId, ORCH_TEST_S3_SECRET: server.credentials.secretAccessKey };
    const withEnv = await orch(["pipeline", "run", "pipeline.ts", "--run-id", "run-byref-1"], credentials, own);
    expect(withEnv.code, withEnv.stderr).toBe(0);
    expect(JSON.parse(await bucketText("byref/runs/run-byref-1/run.json"))).toMatchObject({ status: "succeeded" });

    const withoutEnv = await orch(["pipeline", "run", "pipeline.ts"], {}, own);
    expect(withoutEnv.code).toBe(2);
    expect(withoutEnv.stderr).toMatch(/error: \[s3\] accessKeyId: refers to the environment variable ORCH_TEST_S3_KEY_ID \(\{\{env\.ORCH_TEST_S3_KEY_ID\}\}\), which is not set\./);
    expect(withoutEnv.stderr).toMatch(/hint: Set ORCH_TEST_S3_KEY_ID in the environment/);
  });
});
