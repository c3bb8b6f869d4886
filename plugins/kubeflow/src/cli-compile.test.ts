/**
 * `orch pipeline compile examples/quickstart/src/pipeline.ts --stack kfp --out DIR` with the real `orch`
 * binary, in a fresh project with this plugin installed (linked into its node_modules, as `npm link`
 * would): the IR it writes must pass the KFP validator. Also the CLI's answers to bad config keys.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KFP_CONFORMANCE_MISSING, createKfpValidator, findKfpConformance } from "@orch/kfp/testing";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";

const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = join(pluginRoot, "..", "..");
const orch = join(pluginRoot, "node_modules", ".bin", "orch");
mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
const project = mkdtempSync(join(pluginRoot, ".tmp", "cli-compile-"));
mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-kubeflow"), "dir");
symlinkSync(join(pluginRoot, "..", "s3"), join(project, "node_modules", "@orch", "plugin-s3"), "dir");
let s3rver: S3rverHandle;
afterAll(async () => {
  await s3rver?.stop();
  rmSync(project, { recursive: true, force: true });
});
const conformance = findKfpConformance();
if (!conformance) console.warn(`kubeflow cli-compile: ${KFP_CONFORMANCE_MISSING}`);

const run = (...args: string[]) => promisify(execFile)(orch, args, { cwd: project, env: { ...process.env, NO_COLOR: "1" } });
const fails = async (...args: string[]) => {
  try {
    await run(...args);
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`orch ${args.join(" ")} succeeded`);
};

beforeAll(async () => {
  s3rver = await startS3rver(["ml-artifacts"]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "kfp-compile", private: true, type: "module" }));
  await run("init");
});

describe("orch pipeline compile --stack kfp", () => {
  it("writes the quickstart's KFP IR, and it validates", async () => {
    await run("orchestrator", "register", "kfp", "--flavor=kubeflow", "--image=registry.example/iris:1", "--host=http://127.0.0.1:9", "--kubernetes_context=fake", "--experiment=iris");
    await run("artifact-store", "register", "bucket", "--flavor=s3", "--path=s3://ml-artifacts/orch", `--endpoint=${s3rver.endpoint}`, "--force_path_style=true", `--access_key_id=${s3rver.credentials.accessKeyId}`, `--secret_access_key=${s3rver.credentials.secretAccessKey}`);
    await run("stack", "register", "kfp", "-o", "kfp", "-a", "bucket");
    const { stdout } = await run("pipeline", "compile", join(repoRoot, "examples/quickstart/src/pipeline.ts"), "--stack", "kfp", "--out", "out");
    expect(stdout).toContain('Compiled pipeline "iris_training" for kubeflow');
    const out = join(project, "out");
    expect(readdirSync(out).sort()).toEqual(["pipeline.yaml", "snapshot.json"]);
    const yaml = readFileSync(join(out, "pipeline.yaml"), "utf8");
    expect(yaml).toContain("image: registry.example/iris:1");
    for (const step of ["load-data", "split-data", "train-model", "evaluate-model", "promote-model"]) expect(yaml).toContain(`exec-${step}:`);
    if (conformance) expect(createKfpValidator(conformance).validate(yaml)).toEqual([]);
  });

  it("refuses bad config keys, naming the key", async () => {
    const unknown = await fails("orchestrator", "register", "bad1", "--flavor=kubeflow", "--hots=http://x");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/hots/);
    const badUrl = await fails("orchestrator", "register", "bad2", "--flavor=kubeflow", "--host=not a url");
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/host/);
    const badNamespace = await fails("orchestrator", "register", "bad3", "--flavor=kubeflow", "--user_namespace=Team_A");
    expect(badNamespace.stderr).toMatch(/userNamespace|user_namespace/);
  });

  it("refuses to compile without an image, saying which key to set", async () => {
    await run("orchestrator", "register", "noimage", "--flavor=kubeflow", "--host=http://127.0.0.1:9");
    await run("stack", "register", "noimage", "-o", "noimage", "-a", "bucket");
    const result = await fails("pipeline", "compile", join(repoRoot, "examples/quickstart/src/pipeline.ts"), "--stack", "noimage", "--out", "out2");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no image to run the steps in");
    expect(result.stderr).toContain("--image=");
  });
});
