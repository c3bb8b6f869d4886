/**
 * local_docker + s3: every step runs in its own container (mountSource mode, host network so the
 * containers reach s3rver on 127.0.0.1) and opens the bucket itself through orch-entrypoint. The store
 * config reaches the containers as a secret-free description and the credentials as env; the steps
 * report what they saw.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { defineStack, type PipelineDefinition } from "@orch/core";
import { createDockerClient, inspectImage } from "@orch/docker";
import { localDocker } from "@orch/plugin-local-docker";
import { startS3rver, type S3rverHandle } from "../test/s3rver.js";
import { s3 } from "./index.js";

const BASE_IMAGE = process.env.ORCH_DOCKER_BASE_IMAGE ?? "orch-node-base:local";
const BUCKET = "orch-docker";
const pluginRoot = realpathSync(fileURLToPath(new URL("..", import.meta.url)));

async function dockerProblem(): Promise<string | undefined> {
  try {
    const docker = createDockerClient();
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 5s")), 5000))]);
    if (!(await inspectImage(docker, BASE_IMAGE))) return `the base image ${BASE_IMAGE} is missing (scripts/ci/setup-docker.sh builds it)`;
    return undefined;
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message})`;
  }
}
const problem = await dockerProblem();
if (problem) {
  if (process.env.ORCH_REQUIRE_DOCKER === "1") throw new Error(`local_docker + s3 tests need Docker: ${problem}`);
  console.warn(`[orch] SKIPPING local_docker + s3 tests: ${problem}`);
}

const PIPELINE = `
import { getStepContext, pipeline, step } from "@orch/core";
const secret = () => process.env.AWS_SECRET_ACCESS_KEY ?? "";
export const inspect = step({ name: "inspect" }, () => {
  getStepContext().logger.info("inside a container");
  return {
    inContainer: process.env.ORCH_STEP_ID === "inspect",
    keyFromEnv: process.env.AWS_ACCESS_KEY_ID ?? null,
    secretInArgv: secret() !== "" && process.argv.join(" ").includes(secret()),
    storeEnv: JSON.parse(process.env.ORCH_ARTIFACT_STORE ?? "{}"),
  };
});
export const double = step({ name: "double" }, (seen: { keyFromEnv: string | null }) => [seen.keyFromEnv, 2 * 21]);
export const report = step({ name: "report" }, (values: unknown[]) => values.join(":"));
export const inContainers = pipeline({ name: "in_containers", cache: false }, () => { report(double(inspect())); });
`;

describe.skipIf(problem !== undefined)("local_docker orchestrator + s3 store", () => {
  let server: S3rverHandle;
  let sdk: S3Client;
  // A project that has @orch/core, tsx and this plugin installed (linked, as pnpm would).
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  const project = realpathSync(mkdtempSync(join(pluginRoot, ".tmp", "docker-")));
  beforeAll(async () => {
    server = await startS3rver([BUCKET]);
    sdk = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...server.credentials } });
    mkdirSync(join(project, "src"));
    mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "docker-s3", private: true, type: "module" }));
    writeFileSync(join(project, "src", "pipeline.ts"), PIPELINE);
    symlinkSync(realpathSync(join(pluginRoot, "node_modules", "@orch", "core")), join(project, "node_modules", "@orch", "core"));
    symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-s3"));
    symlinkSync(realpathSync(join(pluginRoot, "..", "..", "node_modules", "tsx")), join(project, "node_modules", "tsx"));
  });
  afterAll(async () => {
    sdk?.destroy();
    await server?.stop();
    rmSync(project, { recursive: true, force: true });
  });

  it("runs each step in a container that reads and writes the bucket, with credentials only in env", { timeout: 300_000 }, async () => {
    const { inContainers } = (await import(join(project, "src", "pipeline.ts"))) as { inContainers: PipelineDefinition };
    const stack = defineStack({
      name: "docker-s3",
      // precompile: false — this test covers the tsx path (TypeScript sources through the @orch/source
      // condition); the precompiled path with an s3 store is local-docker's quickstart-s3.test.ts.
      orchestrator: localDocker({ baseImage: BASE_IMAGE, mountSource: true, network: "host", precompile: false }),
      artifactStore: s3({ path: `s3://${BUCKET}/docker`, endpoint: server.endpoint, forcePathStyle: true, ...server.credentials }),
    });
    const result = await inContainers.run({ stack, projectRoot: project, handleSignals: false });
    expect(result.status, JSON.stringify(result.steps.map((s) => [s.stepId, s.status, s.error?.message]))).toBe("succeeded");

    const inspected = (await result.load({ name: "inspect", fn: () => ({}) as Record<string, unknown> }));
    expect(inspected).toEqual({
      inContainer: true,
      keyFromEnv: "S3RVER",
      secretInArgv: false,
      storeEnv: { flavor: "s3", config: expect.not.objectContaining({ secretAccessKey: expect.anything() }) },
    });
    expect(JSON.stringify(inspected)).not.toContain('"secretAccessKey"');
    expect(await result.load({ name: "report", fn: () => "" })).toBe("S3RVER:42");

    const listed = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `docker/runs/${result.runId}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(`docker/runs/${result.runId}/`.length)).sort();
    expect(keys).toEqual(expect.arrayContaining(["logs/inspect.log", "run.json", "snapshot.json", "steps/double.json", "steps/inspect.json", "steps/report.json"]));
    const log = await (await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: `docker/runs/${result.runId}/logs/inspect.log` }))).Body!.transformToString();
    expect(log).toContain("inside a container");
  });
});
