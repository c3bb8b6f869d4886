/**
 * Bad configuration is refused before anything reaches AWS, naming the key and the fix; AWS's own
 * errors (throttling, validation, missing region) come back as OrchErrors that say what was done.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { isOrchError, parseComponentConfig, readRunRecord } from "@orch/core/plugin";
import plugin from "./index.js";
import { runOrch } from "../test/cli.js";
import { createHarness, pluginRoot, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

const projectRoot = new URL("../test/fixtures/project/", import.meta.url).pathname.replace(/\/$/, "");
const ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution";

function configError(config: Record<string, unknown>) {
  try {
    parseComponentConfig(plugin, config);
  } catch (error) {
    if (isOrchError(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(config)} to be refused`);
}

describe("configuration", () => {
  it("refuses a missing or malformed execution role, naming the key", () => {
    const missing = configError({ image: "x" });
    expect(missing.code).toBe("E_CONFIG_INVALID");
    expect(missing.message).toContain("executionRole");
    for (const bad of ["SageMakerExecution", "arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/alice", "arn:aws:s3:::bucket", "", " arn:aws:iam::123456789012:role/x"]) {
      const error = configError({ executionRole: bad });
      expect(error.message, bad).toContain("executionRole must be an IAM role ARN");
    }
    for (const good of [ROLE, "arn:aws-cn:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-2024", "arn:aws-us-gov:iam::123456789012:role/a.b@c"]) {
      expect(parseComponentConfig(plugin, { executionRole: good }).executionRole).toBe(good);
    }
  });

  it("refuses malformed regions and other keys, and unknown keys (typos)", () => {
    for (const region of ["US-EAST-1", "useast1", "us-east", "eu_west_1", "ü"]) expect(configError({ executionRole: ROLE, region }).message, region).toContain("region must be an AWS region name");
    expect(parseComponentConfig(plugin, { executionRole: ROLE, region: "us-gov-west-1" }).region).toBe("us-gov-west-1");
    expect(configError({ executionRole: ROLE, instanceType: "m5.large" }).message).toContain("ml.");
    expect(configError({ executionRole: ROLE, subnets: ["subnet-0abc"] }).message).toContain("securityGroupIds");
    expect(configError({ executionRole: ROLE, executionRol: ROLE }).message).toContain("executionRol");
    expect(configError({ executionRole: ROLE, pipelineNamePrefix: "orch_" }).message).toContain("pipelineNamePrefix");
  });

  it("orch orchestrator register refuses a bad role with the key and a hint, and exits 2", async () => {
    mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
    const project = mkdtempSync(join(pluginRoot, ".tmp", "cli-errors-"));
    try {
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "cli-errors", private: true, type: "module" }));
      mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
      symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-sagemaker"), "dir");
      expect((await runOrch(project, "init")).code).toBe(0);
      const result = await runOrch(project, "orchestrator", "register", "sm", "--flavor=sagemaker", "--execution_role=my-role");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("executionRole must be an IAM role ARN");
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("AWS errors", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ projectRoot, aws: { throttle: { "SageMaker.DescribePipeline": 2, "SageMaker.StartPipelineExecution": 1 } } });
  }, 60_000);
  afterAll(() => h?.close());

  it("rides out throttling (the SDK retries ThrottlingException) and runs", async () => {
    const { snapshot } = compilePipeline(quickstart, { rows: 2 }, { projectRoot });
    const handle = await h.runtime().submit(snapshot, { runId: "throttled-1", signal: new AbortController().signal });
    const { run } = await handle.wait();
    expect(run.status).toBe("succeeded");
    expect(h.aws.calls.filter((c) => c === "SageMaker.DescribePipeline").length).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it("reports a ValidationException with what was done, and leaves no run stuck in running", async () => {
    const { snapshot } = compilePipeline(quickstart, { rows: 2 }, { projectRoot });
    // An environment value SageMaker refuses (over 256 characters), given through settings.sagemaker.
    snapshot.steps.load_data!.settings.flavors.sagemaker = { environment: { BIG: "x".repeat(256) } };
    const ok = await h.runtime({ pipelineNamePrefix: "val" }).submit(snapshot, { runId: "validation-0", signal: new AbortController().signal });
    expect((await ok.wait()).run.status).toBe("succeeded");
    const { snapshot: other } = compilePipeline(quickstart, { rows: 2 }, { projectRoot });
    const error = await h
      .runtime({ pipelineNamePrefix: "val2", entrypointCommand: ["x".repeat(300)] })
      .submit(other, { runId: "validation-1", signal: new AbortController().signal })
      .then(() => undefined, (e: unknown) => e);
    expect(isOrchError(error) && error.code).toBe("E_CONFIG_INVALID");
    expect((error as Error).message).toMatch(/CreatePipeline .* failed: ValidationException: .*longer than 256/);
    expect(await readRunRecord(h.store, "validation-1")).toBeUndefined();
  }, 120_000);

  it("names the missing region instead of the SDK's bare error", async () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION, AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    process.env.AWS_CONFIG_FILE = join(pluginRoot, "no-such-aws-config");
    try {
      const { snapshot } = compilePipeline(quickstart, { rows: 2 }, { projectRoot });
      const runtime = h.runtime({ region: undefined as never });
      const error = await runtime.submit(snapshot, { runId: "no-region-1", signal: new AbortController().signal }).then(() => undefined, (e: unknown) => e);
      expect(isOrchError(error) && error.code).toBe("E_CONFIG_INVALID");
      expect((error as { key?: string }).key).toBe("region");
      expect((error as { hint?: string }).hint).toContain("--region");
    } finally {
      for (const [key, value] of Object.entries(saved)) if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }, 60_000);
});
