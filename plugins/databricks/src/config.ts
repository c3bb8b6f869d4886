/**
 * The databricks flavor's schemas: the component config and `settings.databricks`. Its own file so the
 * entry (index.ts), the job-settings compiler and the runtime import it without importing each other.
 */
import { ENTRYPOINT_NAME, secret, z } from "@orch/core/plugin";

export const FLAVOR = "databricks";

/** `{{secrets/<scope>/<key>}}`: how Databricks references a secret in cluster settings; never a literal password. */
const SECRET_REFERENCE = /^\{\{secrets\/[\w.-]+\/[\w.-]+\}\}$/;
const secretReference = z
  .string()
  .regex(SECRET_REFERENCE, { error: 'must be a Databricks secret reference like "{{secrets/my-scope/registry-password}}", never the password itself' });

const nodeType = z
  .object({
    name: z.string().min(1).describe("The node_type_id, e.g. i3.xlarge."),
    cpuCount: z.number().positive().describe("vCPUs of the node."),
    memory: z.string().min(1).describe('Memory of the node, e.g. "30.5GiB".'),
    gpuCount: z.number().int().min(0).optional().describe("GPUs of the node."),
    gpuType: z.string().optional().describe("GPU model, e.g. nvidia-t4."),
  })
  .strict();

/** `settings: { databricks: {...} }` on a step or pipeline: its job cluster. */
export const settingsSchema = z
  .object({
    nodeTypeId: z.string().min(1).optional().describe("node_type_id of this step's job cluster; default: the smallest node type of the table that fits the step's resources."),
    numWorkers: z.number().int().min(0).optional().describe("Worker nodes of this step's job cluster; 0 (default) is a single-node cluster: orch steps run on the driver."),
    sparkVersion: z.string().min(1).optional().describe("Databricks Runtime of this step's job cluster; default: the config's sparkVersion (gpuSparkVersion for GPU node types)."),
    sparkConf: z.record(z.string(), z.string()).optional().describe("Extra spark_conf of this step's job cluster."),
    env: z.record(z.string(), z.string()).optional().describe("Extra environment variables of this step (spark_env_vars)."),
  })
  .strict();
export type DatabricksStepSettings = z.output<typeof settingsSchema>;

export const configSchema = z
  .object({
    host: z.string().url().optional().describe("Workspace URL, e.g. https://dbc-1234.cloud.databricks.com; default: $DATABRICKS_HOST."),
    clientId: z.string().min(1).optional().describe("OAuth M2M service principal client id (ZenML: client_id); default: $DATABRICKS_CLIENT_ID."),
    clientSecret: secret(z.string().min(1).optional()).describe("OAuth M2M client secret (ZenML: client_secret); default: $DATABRICKS_CLIENT_SECRET."),
    token: secret(z.string().min(1).optional()).describe("Personal access token, used when no client id is set; default: $DATABRICKS_TOKEN."),
    image: z.string().min(1).optional().describe("Image (Databricks Container Services) with the project, its dependencies, Node.js and orch-entrypoint; required to run."),
    imageBasicAuth: z
      .object({
        username: z.string().min(1).describe("Registry user name."),
        password: secretReference.describe('Registry password as a Databricks secret reference: "{{secrets/scope/key}}".'),
      })
      .strict()
      .optional()
      .describe("Credentials of a private registry for docker_image.basic_auth; the password only as a Databricks secret reference."),
    sparkVersion: z.string().min(1).default("15.4.x-scala2.12").describe("Databricks Runtime of CPU job clusters (must support Container Services)."),
    gpuSparkVersion: z.string().min(1).default("15.4.x-gpu-ml-scala2.12").describe("Databricks Runtime of GPU job clusters (a GPU ML runtime)."),
    nodeTypes: z.array(nodeType).min(1).optional().describe("Node-type table ResourceSettings are matched against; default: the AWS table in the README."),
    defaultNodeTypeId: z.string().min(1).optional().describe("node_type_id for steps without resources; default: the smallest node type of the table."),
    projectRoot: z.string().startsWith("/").default("/app").describe("Folder of the project inside the image (--project-root of orch-entrypoint)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .default([ENTRYPOINT_NAME])
      .describe("How the image runs @orch/core's entrypoint, e.g. [\"node\", \"/app/node_modules/@orch/core/dist/entrypoint/bin.js\"]."),
    runCommand: z.array(z.string().min(1)).min(1).default(["orch-databricks-run"]).describe("How the image runs this plugin's orch-databricks-run bin (the start and finish tasks)."),
    launcherDir: z
      .string()
      .startsWith("/")
      .default("/Shared/orch")
      .describe("Workspace folder where the task launcher (orch_launcher.py) is uploaded; every task's spark_python_task runs it."),
    secretScope: z
      .string()
      .regex(/^[\w.-]{1,128}$/)
      .default("orch")
      .describe("Databricks secret scope that holds the artifact store's credentials; tasks see them through {{secrets/…}} references."),
    jobNamePrefix: z.string().min(1).max(40).default("orch").describe("Prefix of job names: <prefix>-<pipeline>."),
    maxConcurrentRuns: z.number().int().min(1).max(1000).default(1).describe("max_concurrent_runs of the job."),
    tags: z.record(z.string(), z.string()).default({}).describe("Job tags."),
    runAs: z
      .union([z.object({ userName: z.string().min(1) }).strict(), z.object({ servicePrincipalName: z.string().min(1) }).strict()])
      .optional()
      .describe("run_as of the job: { userName } or { servicePrincipalName }."),
    emailNotifications: z
      .object({
        onStart: z.array(z.string().email()).optional(),
        onSuccess: z.array(z.string().email()).optional(),
        onFailure: z.array(z.string().email()).optional(),
      })
      .strict()
      .optional()
      .describe("email_notifications of the job."),
    timezone: z.string().min(1).default("UTC").describe("Java timezone id of schedules whose pipeline names none."),
    synchronous: z.boolean().default(true).describe("Wait for the run and stream its progress; false returns once run-now accepted it."),
    pollSeconds: z.number().positive().default(5).describe("How often runs/get is polled while a run is followed."),
  })
  .strict();

export type DatabricksOrchestratorConfig = z.output<typeof configSchema>;
export type DatabricksOrchestratorConfigInput = z.input<typeof configSchema>;
