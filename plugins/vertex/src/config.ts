/**
 * The vertex flavor's schemas: the component config and `settings.vertex`. Its own file so the entry
 * (index.ts), the job builder and the runtime import it without importing each other.
 */
import { z } from "@orch/core/plugin";

export const FLAVOR = "vertex";

/** Google Cloud label keys and values: lower-case letters, digits, "_" and "-", at most 63 characters; keys start with a letter. */
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
export const labelsSchema = z
  .record(
    z.string().regex(LABEL_KEY, { error: "label keys start with a lower-case letter and hold only lower-case letters, digits, _ and - (at most 63)" }),
    z.string().regex(LABEL_VALUE, { error: "label values hold only lower-case letters, digits, _ and - (at most 63)" }),
  )
  .refine((labels) => Object.keys(labels).length <= 64, { error: "at most 64 labels" });

const GCS_PATH = /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/;
const KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const NETWORK = /^projects\/[^/]+\/global\/networks\/[^/]+$/;
const SERVICE_ACCOUNT = /^[^@\s]+@[^@\s]+$/;

/**
 * `settings: { vertex: {...} }` on a step or pipeline: what a Vertex task's container can carry. (The
 * KFP-on-Kubernetes extras — node selectors, tolerations, secrets, volumes — do not exist on Vertex.)
 */
export const settingsSchema = z
  .object({
    acceleratorType: z
      .string()
      .min(1)
      .optional()
      .describe('Vertex AcceleratorType of the step\'s GPUs (resources.gpuCount), e.g. "NVIDIA_TESLA_T4", "NVIDIA_L4" (also written nvidia-l4); default: the config\'s acceleratorType.'),
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" }), z.string())
      .optional()
      .describe("Environment variables of the step's container."),
  })
  .strict();
export type VertexStepSettings = z.output<typeof settingsSchema>;

export const configSchema = z
  .object({
    project: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: "a Google Cloud project id: 6-30 lower-case letters, digits and -, starting with a letter" })
      .optional()
      .describe("Google Cloud project of the pipeline jobs (ZenML: project); default: the project of the credentials."),
    location: z
      .string()
      .regex(/^[a-z]+-[a-z]+[0-9]+$/, { error: 'a Vertex AI region such as "us-central1" or "europe-west4"' })
      .default("us-central1")
      .describe("Vertex AI region of the pipeline jobs and schedules (ZenML: location)."),
    image: z.string().min(1).describe("Image with the project, its dependencies and orch-entrypoint, pushed where Vertex AI can pull it (Artifact Registry)."),
    projectRoot: z.string().startsWith("/").default("/app").describe("Folder of the project inside the image (working directory, --project-root)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('How the image runs @orch/core\'s entrypoint bin when it is not on PATH, e.g. ["node", "node_modules/@orch/core/dist/entrypoint/bin.js"]; default: the bin on PATH.'),
    runCommand: z
      .array(z.string().min(1))
      .min(1)
      .default(["orch-vertex-run"])
      .describe("How the image runs this plugin's orch-vertex-run bin: the first and last task of a run a schedule starts (they write its journal's start and end)."),
    artifactStorePackage: z
      .string()
      .min(1)
      .optional()
      .describe("Package or module path the tasks load the artifact store plugin from; default: @orch/plugin-<store flavor> resolved from the project in the image."),
    serviceAccount: z
      .string()
      .regex(SERVICE_ACCOUNT, { error: "a service account email, e.g. runner@my-project.iam.gserviceaccount.com" })
      .optional()
      .describe("Service account the pipeline's steps run as (ZenML: workload_service_account); default: the project's Compute Engine default service account."),
    network: z
      .string()
      .regex(NETWORK, { error: 'the full name of a VPC network: "projects/<project number>/global/networks/<network>"' })
      .optional()
      .describe("VPC network the steps are peered to (projects/<number>/global/networks/<name>)."),
    labels: labelsSchema.default({}).describe("Labels of every PipelineJob and schedule (orch adds its own run, pipeline and flavor labels)."),
    encryptionSpecKeyName: z
      .string()
      .regex(KMS_KEY, { error: "a Cloud KMS key: projects/<p>/locations/<l>/keyRings/<ring>/cryptoKeys/<key>" })
      .optional()
      .describe("Customer-managed encryption key of the pipeline jobs (ZenML: encryption_spec_key_name)."),
    pipelineRoot: z
      .string()
      .regex(GCS_PATH, { error: "a gs://bucket/prefix path" })
      .optional()
      .describe("Where Vertex keeps the pipeline's own outputs (runtimeConfig.gcsOutputDirectory); default: <artifact store path>/vertex-pipeline-root."),
    acceleratorType: z
      .string()
      .min(1)
      .optional()
      .describe('Vertex AcceleratorType for steps that ask for GPUs and name none in settings.vertex.acceleratorType, e.g. "NVIDIA_TESLA_T4".'),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe("Service-account or external-account (workload identity federation) JSON the plugin calls Vertex AI with; default: Application Default Credentials."),
    apiEndpoint: z
      .string()
      .url()
      .optional()
      .describe("Vertex AI API endpoint, e.g. https://europe-west4-aiplatform.googleapis.com or a Private Service Connect address; default: the location's regional endpoint."),
    synchronous: z.boolean().default(true).describe("Wait for the run and stream its progress; false returns once the PipelineJob is created."),
    pollSeconds: z.number().positive().default(5).describe("How often a running PipelineJob is polled for its task states."),
    maxConcurrentRunCount: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe("Concurrent runs of a schedule with allowOverlap (without it, one run at a time)."),
  })
  .strict();

export type VertexOrchestratorConfig = z.output<typeof configSchema>;
export type VertexOrchestratorConfigInput = z.input<typeof configSchema>;
