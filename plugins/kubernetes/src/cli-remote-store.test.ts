/**
 * The real `orch` binary with a kubernetes + s3 stack (the loopback cluster, s3rver on 127.0.0.1):
 * `orch pipeline compile` writes manifests without a volume whose Secret holds the store's credentials;
 * `orch pipeline run` runs; `orch run logs` reads the step log from the bucket; and another project
 * that only knows the bucket finds the run with `orch run list --sync`.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { K8sObject } from "./manifests.js";
import { manifestProblems } from "./validate.js";
import { runOrch } from "../test/cli.js";
import { createHarness, type Harness } from "../test/harness.js";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";

const BUCKET = "orch-k8s-cli";
const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const s3Root = join(pluginRoot, "..", "s3");
const coreBin = join(pluginRoot, "..", "..", "packages", "core", "src", "entrypoint", "bin.ts");
const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];

mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
const project = mkdtempSync(join(pluginRoot, ".tmp", "cli-k8s-s3-"));
const elsewhere = mkdtempSync(join(pluginRoot, ".tmp", "cli-k8s-s3-other-"));
let h: Harness;
let server: S3rverHandle;

const orch = runOrch;
async function ok(cwd: string, ...args: string[]) {
  const result = await orch(cwd, ...args);
  expect(result.code, `orch ${args.join(" ")}: ${result.stderr}`).toBe(0);
  return result;
}

/** A project with both plugins installed (linked, as `npm link` would) and the s3 store registered. */
async function setUp(dir: string) {
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "cli-k8s-s3", private: true, type: "module" }));
  mkdirSync(join(dir, "src"));
  copyFileSync(join(pluginRoot, "test", "fixtures", "project", "src", "pipeline.ts"), join(dir, "src", "pipeline.ts"));
  mkdirSync(join(dir, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(dir, "node_modules", "@orch", "plugin-kubernetes"), "dir");
  symlinkSync(s3Root, join(dir, "node_modules", "@orch", "plugin-s3"), "dir");
  await ok(dir, "init");
  await ok(dir, "artifact-store", "register", "s3store", "--flavor=s3", `--path=s3://${BUCKET}/k8s`, `--endpoint=${server.endpoint}`, "--force_path_style=true", `--access_key_id=${server.credentials.accessKeyId}`, `--secret_access_key=${server.credentials.secretAccessKey}`);
}

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  h = await createHarness();
  await setUp(project);
  await ok(project, "orchestrator", "register", "k8s", "--flavor=kubernetes", `--kubeconfig=${h.kubeconfigPath}`, "--image=orch-quickstart:test", `--project_root=${project}`, `--entrypoint_command=${JSON.stringify([...node, coreBin])}`);
  await ok(project, "stack", "register", "k8s", "-o", "k8s", "-a", "s3store");
}, 120_000);

afterAll(async () => {
  await h?.close();
  await server?.stop();
  rmSync(project, { recursive: true, force: true });
  rmSync(elsewhere, { recursive: true, force: true });
});

describe("orch with a kubernetes + s3 stack", () => {
  it("orch pipeline compile writes manifests without a volume, the credentials only in the Secret", async () => {
    await ok(project, "pipeline", "compile", "src/pipeline.ts#quickstart", "--stack", "k8s", "--out", "out");
    const out = join(project, "out");
    const read = (file: string) => parseAllDocuments(readFileSync(join(out, file), "utf8")).map((doc) => doc.toJSON() as K8sObject);
    expect(readdirSync(out).sort()).toEqual(["config-secret.yaml", "orchestrator-job.yaml", "snapshot.json", "step-jobs.yaml"]);
    const jobs = [...read("orchestrator-job.yaml"), ...read("step-jobs.yaml")];
    const [secret] = read("config-secret.yaml") as (K8sObject & { stringData: Record<string, string> })[];
    for (const object of [...jobs, secret!]) expect(manifestProblems(object)).toEqual([]);
    expect(secret!.stringData).toMatchObject({ "store-env.AWS_ACCESS_KEY_ID": server.credentials.accessKeyId, "store-env.AWS_SECRET_ACCESS_KEY": server.credentials.secretAccessKey });
    for (const job of jobs as any[]) {
      const pod = job.spec.template;
      expect(pod.spec.volumes, job.metadata.name).toBeUndefined();
      expect(pod.spec.containers[0].volumeMounts, job.metadata.name).toBeUndefined();
      expect(JSON.stringify(job)).not.toContain(server.credentials.secretAccessKey);
      expect(pod.spec.containers[0].env).toContainEqual({ name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: secret!.metadata.name, key: "store-env.AWS_SECRET_ACCESS_KEY" } } });
    }
  }, 120_000);

  it("runs, shows the step log from the bucket, and another project finds the run with run list --sync", async () => {
    const runId = "k8s-s3-cli-1";
    const run = await ok(project, "pipeline", "run", "src/pipeline.ts#quickstart", "--stack", "k8s", "--param", "rows=6", "--run-id", runId);
    expect(run.stdout + run.stderr).not.toContain(server.credentials.secretAccessKey);
    const logs = await ok(project, "run", "logs", runId, "--step", "load_data");
    expect(logs.stdout).toContain("loaded 6 rows");
    expect(logs.stdout).toContain("step load_data: succeeded");

    // A second project (a teammate's laptop) that registers only the bucket.
    await setUp(elsewhere);
    await ok(elsewhere, "stack", "register", "remote", "-o", "default", "-a", "s3store", "--set");
    const listed = JSON.parse((await ok(elsewhere, "run", "list", "--sync", "--json")).stdout) as { runId: string; status: string; pipeline: string }[];
    expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ runId, status: "succeeded", pipeline: "quickstart" })]));
    const shown = await ok(elsewhere, "run", "show", runId, "--json");
    expect(shown.stdout).toContain("load_data");
    const synced = await ok(elsewhere, "run", "logs", runId, "--step", "load_data");
    expect(synced.stdout).toContain("loaded 6 rows");
  }, 240_000);
});
