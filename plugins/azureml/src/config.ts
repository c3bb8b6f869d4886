/**
 * The azureml flavor's schemas: the component config and `settings.azureml`. Its own file so the entry
 * (index.ts), the compiler and the runtime import it without importing each other.
 */
import { z } from "@orch/core/plugin";

export const FLAVOR = "azureml";

/** Azure resource names: letters, digits, "-", "_", "." and "(" ")" for resource groups (ARM rules, simplified to the common set). */
const armName = (what: string) =>
  z
    .string()
    .min(1)
    .max(90)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.()-]*$/, { error: `${what} must be an Azure resource name: letters, digits, "-", "_", "." (no "/" or spaces)` });

/** `settings: { azureml: {...} }` on a step or pipeline. */
export const settingsSchema = z
  .object({
    instanceType: z
      .string()
      .min(1)
      .optional()
      .describe("VM size of this step's command job (e.g. Standard_NC6s_v3); wins over the size chosen from the step's resources."),
    gpuType: z.enum(["T4", "V100", "A100"]).optional().describe("GPU model for a step that asks for GPUs (narrows the VM sizes chosen from its resources)."),
    computeTarget: armName("computeTarget").optional().describe("Compute cluster of this step; default: the orchestrator's computeTarget."),
    environmentVariables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional().describe("Extra environment variables of this step's command job."),
  })
  .strict();
export type AzureMLStepSettings = z.output<typeof settingsSchema>;

export const configSchema = z
  .object({
    subscriptionId: z.string().min(1).describe("Azure subscription of the workspace (ZenML: subscription_id)."),
    resourceGroup: armName("resourceGroup").describe("Resource group of the workspace (ZenML: resource_group)."),
    workspace: armName("workspace").describe("Azure Machine Learning workspace name (ZenML: workspace)."),
    computeTarget: armName("computeTarget").describe("Compute cluster (AmlCompute) the command jobs run on (ZenML: compute target)."),
    image: z.string().min(1).optional().describe("Image with the project, its dependencies and orch-entrypoint; the command jobs' environment is made from it."),
    build: z
      .object({
        baseImage: z.string().min(1).default("node:20-bookworm-slim").describe("Base image of the generated Dockerfile."),
        imageName: z.string().min(1).optional().describe("Repository name of the built image; default orch-<project folder>."),
      })
      .strict()
      .optional()
      .describe("When image is not set: build the project image with @orch/docker at submit and push it to the stack's container registry."),
    projectRoot: z.string().min(1).default("/app").describe("Folder of the project inside the image (the command's --project-root)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("How the image runs @orch/core's entrypoint bin when it is not on PATH, e.g. [\"node\", \"node_modules/@orch/core/dist/entrypoint/bin.js\"]."),
    runCommand: z
      .array(z.string().min(1))
      .min(1)
      .default(["orch-azureml-run"])
      .describe("How the image runs this plugin's orch-azureml-run bin (the setup and finalize nodes of a schedule's pipeline jobs)."),
    experimentName: z.string().min(1).max(255).optional().describe("Experiment the pipeline jobs are filed under; default: the pipeline name."),
    environmentName: armName("environmentName").default("orch-project").describe("Name of the Azure ML environment made from the image (one version per image)."),
    endpoint: z.url().default("https://management.azure.com").describe("Azure Resource Manager endpoint (another cloud, or a test server)."),
    studioUrl: z.url().default("https://ml.azure.com").describe("Azure ML studio, for the run's link in orch run show."),
    synchronous: z.boolean().default(true).describe("Wait for the pipeline job and stream its progress; false returns once it is created."),
    pollSeconds: z.number().positive().default(5).describe("How often the pipeline job and its child jobs are read while the run goes on."),
  })
  .strict();

export type AzureMLOrchestratorConfig = z.output<typeof configSchema>;
export type AzureMLOrchestratorConfigInput = z.input<typeof configSchema>;
