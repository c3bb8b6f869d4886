/**
 * The airflow flavor's schemas: the component config and `settings.airflow`. Its own file so that the
 * entry (index.ts), the DAG writer and the runtime all import it without importing each other.
 */
import { secret, z } from "@orch/core/plugin";

export const FLAVOR = "airflow";

/** Airflow's own rule for dag_id and task_id: letters, digits, "-", "." and "_", at most 250 characters. */
export const AIRFLOW_KEY = /^[A-Za-z0-9_.-]{1,250}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (what: string) =>
  z
    .string()
    .max(63)
    .regex(DNS_LABEL, { error: `${what} must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit` });
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A Kubernetes toleration, in the camelCase of the Kubernetes API (written as k8s.V1Toleration in the DAG). */
export const tolerationSchema = z
  .object({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"]).optional(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.number().int().optional(),
  })
  .strict();

/** Per-task settings shared by the component config (every task) and `settings.airflow` (one step). */
const taskSettings = {
  image: z.string().min(1).optional().describe("Image of this step's container; default: the component's image."),
  env: z
    .record(z.string().regex(ENV_NAME), z.string())
    .optional()
    .describe("Environment variables of the step's container. Written into the DAG file: credentials belong in credentialsSecret / credentialsEnvFile."),
  nodeSelector: z.record(z.string(), z.string()).optional().describe("operator kubernetes: node labels the step's pod must run on."),
  tolerations: z.array(tolerationSchema).optional().describe("operator kubernetes: tolerations of the step's pod."),
  pool: z.string().min(1).optional().describe("Airflow pool the task runs in."),
  queue: z.string().min(1).optional().describe("Airflow executor queue of the task."),
  priorityWeight: z.number().int().optional().describe("Airflow priority_weight of the task."),
};

/** `settings: { airflow: {...} }` on a step or pipeline. */
export const settingsSchema = z.object(taskSettings).strict();
export type AirflowStepSettings = z.output<typeof settingsSchema>;

export const configSchema = z
  .object({
    host: z.url().describe("Base URL of the Airflow webserver / API server, e.g. http://airflow.example.com:8080 (the REST API is under /api/v1 or /api/v2)."),
    airflowVersion: z
      .number()
      .refine((v): v is 2 | 3 => v === 2 || v === 3, { error: "airflowVersion must be 2 (Airflow 2.7+) or 3" })
      .default(3)
      .describe("Airflow major version: 3 (airflow.sdk DAG, REST API v2 with a bearer token) or 2 (2.7+: airflow DAG, REST API v1 with basic auth)."),
    username: z.string().min(1).optional().describe("Airflow user: basic auth (Airflow 2) or the token request of the auth manager (Airflow 3)."),
    password: secret(z.string().min(1).optional()).describe("Password of username."),
    token: secret(z.string().min(1).optional()).describe("Airflow 3: a bearer token to use instead of asking /auth/token with username and password."),
    dagsFolder: z
      .string()
      .min(1)
      .refine((value) => /^(s3|gs):\/\/[^/]+/.test(value) || !/^[a-z][a-z0-9+.-]*:\/\//.test(value), { error: "dagsFolder must be a local folder, s3://bucket/prefix or gs://bucket/prefix" })
      .describe("Where the Airflow deployment reads DAG files: a local folder (mounted into Airflow), or s3://bucket/dags (MWAA) / gs://bucket/dags (Composer) through the s3 / gcs store plugins."),
    dagsFolderOptions: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Extra config of the s3 / gcs store that writes to an s3:// or gs:// dagsFolder (e.g. region, endpoint, forcePathStyle, keyFile)."),
    operator: z.enum(["kubernetes", "docker"]).default("kubernetes").describe("KubernetesPodOperator (kubernetes) or DockerOperator (docker) for every step."),
    image: z.string().min(1).describe("Image with the project, its dependencies and orch-entrypoint (build and push it yourself, e.g. with @orch/docker)."),
    projectRoot: z.string().startsWith("/").default("/app").describe("Folder of the project inside the image (--project-root of every step)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('How the image runs @orch/core\'s entrypoint bin when it is not on PATH, e.g. ["node", "node_modules/@orch/core/dist/entrypoint/bin.js"]; default: orch-entrypoint.'),
    scheduledStepCommand: z
      .array(z.string().min(1))
      .min(1)
      .default(["orch-airflow-scheduled-step"])
      .describe("How the image runs this plugin's orch-airflow-scheduled-step bin: the command of a schedule's tasks (it prepares the scheduled run, then runs orch-entrypoint step)."),
    dagIdPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .max(100)
      .default("")
      .describe('Prefix of the DAG id (the DAG id is prefix + pipeline name), e.g. "orch_".'),
    owner: z.string().min(1).default("orch").describe("owner of every task (default_args)."),
    tags: z.array(z.string().min(1)).default(["orch"]).describe("Tags of the DAG (\"orch\" and the pipeline name are always added)."),
    maxActiveRuns: z.number().int().min(1).optional().describe("max_active_runs of the DAG; a schedule without allowOverlap sets 1."),
    namespace: dnsLabel("namespace").default("default").describe("operator kubernetes: namespace of the step pods."),
    imagePullSecrets: z.array(dnsLabel("imagePullSecrets entry")).default([]).describe("operator kubernetes: Secrets for pulling the image."),
    credentialsSecret: dnsLabel("credentialsSecret")
      .optional()
      .describe("operator kubernetes: Secret whose keys become the step pods' environment (env_from): the artifact store's credentials. Never written into the DAG file."),
    artifactStoreVolume: z
      .object({
        claimName: dnsLabel("claimName").describe("PersistentVolumeClaim (ReadWriteMany) holding the local artifact store."),
        mountPath: z.string().startsWith("/").describe("Where the claim is mounted in every step pod."),
      })
      .strict()
      .optional()
      .describe("operator kubernetes with a local artifact store: the volume every step pod mounts it from."),
    credentialsEnvFile: z
      .string()
      .regex(/^\/.*[^/]\.env$/, { error: 'credentialsEnvFile must be an absolute path ending in ".env" (DockerOperator reads env_file as a template file)' })
      .optional()
      .describe("operator docker: absolute path of a .env file on the Airflow workers with the artifact store's credentials (DockerOperator env_file, its folder the DAG's template_searchpath). Never written into the DAG file."),
    networkMode: z.enum(["bridge", "host", "none"]).default("bridge").describe("operator docker: network_mode of the step containers."),
    dockerUrl: z.string().min(1).optional().describe("operator docker: the Docker daemon the workers use (docker_url); default: the operator's."),
    parseTimeoutSeconds: z.number().positive().default(300).describe("How long submit waits for Airflow to parse a new or changed DAG file."),
    pollSeconds: z.number().positive().default(2).describe("How often the REST API is asked for the DAG run's state."),
    synchronous: z.boolean().default(true).describe("Wait for the DAG run and stream its progress; false returns once it is triggered."),
  })
  .strict();

export type AirflowOrchestratorConfig = z.output<typeof configSchema>;
export type AirflowOrchestratorConfigInput = z.input<typeof configSchema>;
