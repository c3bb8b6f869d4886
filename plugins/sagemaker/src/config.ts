/**
 * The sagemaker flavor's schemas: the component config and `settings.sagemaker`. Its own file so the
 * entry (index.ts), the definition compiler and the runtime all import it without importing each other.
 */
import { ENTRYPOINT_NAME, z } from "@orch/core/plugin";

export const FLAVOR = "sagemaker";

/** An IAM role ARN: `arn:aws:iam::123456789012:role/path/Name` (aws, aws-cn, aws-us-gov partitions). */
export const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** An AWS region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`. */
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;

const roleArn = (key: string) =>
  z.string().regex(ROLE_ARN_PATTERN, {
    error: (issue) => `${key} must be an IAM role ARN like arn:aws:iam::123456789012:role/SageMakerExecution, got "${String(issue.input)}"`,
  });

/** Processing-job exception types SageMaker can retry (RetryPolicies); user-code failures are retried by orch's step runner. */
export const RETRYABLE_EXCEPTION_TYPES = ["Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"] as const;

const tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .optional()
  .describe("Tags on the pipeline and on every processing job.");

/** `settings: { sagemaker: {...} }` on a step or pipeline. */
export const settingsSchema = z
  .object({
    instanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, { error: 'instanceType must be an ml.* instance type such as "ml.m5.xlarge"' })
      .optional()
      .describe("Processing instance type of this step; wins over the type chosen from its resources."),
    instanceCount: z.number().int().min(1).max(100).optional().describe("Processing instances of this step (each runs the step; orch steps use 1)."),
    volumeSizeInGB: z.number().int().min(1).max(16384).optional().describe("ML storage volume of this step in GB."),
    environment: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,255}$/), z.string().max(256)).optional().describe("Extra environment variables of this step's container."),
    tags,
  })
  .strict();
export type SageMakerStepSettings = z.output<typeof settingsSchema>;

export const configSchema = z
  .object({
    executionRole: roleArn("executionRole").describe("IAM role ARN the pipeline and its processing jobs run as (ZenML: execution_role); it needs access to the artifact store's bucket and the image."),
    region: z
      .string()
      .regex(REGION_PATTERN, { error: (issue) => `region must be an AWS region name such as us-east-1, got "${String(issue.input)}"` })
      .optional()
      .describe("AWS region of the pipeline; default: the SDK's (AWS_REGION, the profile)."),
    image: z.string().min(1).optional().describe("Image (ECR URI) with the project, its dependencies and orch-entrypoint; without it the image is built with @orch/docker and pushed to the stack's container registry."),
    build: z
      .object({
        baseImage: z.string().min(1).default("node:20-bookworm-slim").describe("Base image of the generated Dockerfile."),
        imageName: z.string().min(1).optional().describe("Repository name of the built image; default orch-<project folder>."),
      })
      .strict()
      .optional()
      .describe("How the image is built when image is not set (pushed to the stack's container registry)."),
    projectRoot: z.string().startsWith("/").default("/app").describe("Folder of the project inside the image (--project-root of orch-entrypoint)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .default([ENTRYPOINT_NAME])
      .describe('How the image runs @orch/core\'s entrypoint bin (ContainerEntrypoint), e.g. ["node", "node_modules/@orch/core/dist/entrypoint/bin.js"].'),
    scheduledStepCommand: z
      .array(z.string().min(1))
      .min(1)
      .default(["orch-sagemaker-scheduled-step"])
      .describe("How the image runs this plugin's orch-sagemaker-scheduled-step bin (the container command of a schedule's pipeline)."),
    instanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, { error: 'instanceType must be an ml.* instance type such as "ml.m5.xlarge"' })
      .optional()
      .describe("Processing instance type of every step without resources or settings.sagemaker.instanceType; default: the smallest type of the table that fits."),
    volumeSizeInGB: z.number().int().min(1).max(16384).default(30).describe("ML storage volume of each processing job in GB."),
    maxRuntimeInSeconds: z
      .number()
      .int()
      .min(1)
      .max(777_600)
      .default(86_400)
      .describe("StoppingCondition.MaxRuntimeInSeconds of a step without a timeout (a step with one gets its whole time budget, retries included)."),
    maxParallelism: z.number().int().min(1).max(256).optional().describe("ParallelismConfiguration.MaxParallelExecutionSteps: steps running at once."),
    retryExceptionTypes: z
      .array(z.enum(RETRYABLE_EXCEPTION_TYPES))
      .default(["SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "Step.SERVICE_FAULT", "Step.THROTTLING"])
      .describe("Service faults SageMaker retries natively (RetryPolicies) for a step with retries; failures of the step's own code are retried by orch's step runner in the container."),
    subnets: z.array(z.string().regex(/^subnet-[0-9a-f]+$/)).optional().describe("VPC subnets of the processing jobs (NetworkConfig.VpcConfig)."),
    securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/)).optional().describe("Security groups of the processing jobs (with subnets)."),
    enableNetworkIsolation: z.boolean().optional().describe("NetworkConfig.EnableNetworkIsolation (no network: the artifact store must then be reachable otherwise)."),
    volumeKmsKeyId: z.string().min(1).optional().describe("KMS key of the processing jobs' storage volumes."),
    tags,
    pipelineNamePrefix: z
      .string()
      .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/, { error: "pipelineNamePrefix must be letters and digits separated by single hyphens, at most 32 characters" })
      .default("orch")
      .describe("Prefix of the SageMaker pipeline names (orch-<pipeline>)."),
    inlineDefinitionLimit: z
      .number()
      .int()
      .min(1)
      .max(1_048_576)
      .default(1_048_576)
      .describe("Definitions longer than this (SageMaker's inline limit, 1 MiB) are uploaded to the s3 artifact store and passed as PipelineDefinitionS3Location."),
    endpoints: z
      .object({
        sagemaker: z.url().optional().describe("SageMaker API endpoint."),
        logs: z.url().optional().describe("CloudWatch Logs endpoint."),
        scheduler: z.url().optional().describe("EventBridge Scheduler endpoint."),
      })
      .strict()
      .default({})
      .describe("Endpoints of the AWS APIs (VPC endpoints, or a test server); default: the region's."),
    schedulerRole: roleArn("schedulerRole").optional().describe("IAM role EventBridge Scheduler assumes to start executions (sagemaker:StartPipelineExecution); default: executionRole."),
    synchronous: z.boolean().default(true).describe("Wait for the run and stream its progress; false returns once the execution started."),
    pollSeconds: z.number().positive().max(60).default(5).describe("How often a waiting submit reads the execution's status."),
    strict: z.boolean().default(true).describe("Refuse settings SageMaker cannot honour (continue-on-failure); false warns and runs anyway."),
  })
  .strict()
  .superRefine((config, ctx) => {
    // A processing job's VpcConfig needs both.
    if (Boolean(config.subnets?.length) !== Boolean(config.securityGroupIds?.length)) {
      ctx.addIssue({ code: "custom", path: [config.subnets?.length ? "securityGroupIds" : "subnets"], message: "subnets and securityGroupIds go together: a processing job in a VPC needs at least one of each" });
    }
  });

export type SageMakerOrchestratorConfig = z.output<typeof configSchema>;
export type SageMakerOrchestratorConfigInput = z.input<typeof configSchema>;
