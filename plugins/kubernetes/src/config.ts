/**
 * The kubernetes flavor's schemas: the component config, pod settings and `settings.kubernetes`. Its own
 * file so that the entry (index.ts), the manifests and the runtime all import it without importing each
 * other.
 */
import { ResourceSettingsSchema, z } from "@orch/core/plugin";

export const FLAVOR = "kubernetes";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (what: string) =>
  z
    .string()
    .max(63)
    .regex(DNS_LABEL, { error: `${what} must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit` });

/** A Kubernetes object given as-is (tolerations, affinity, volumes …); checked against the Kubernetes schema at compile/submit. */
const k8sObject = z.record(z.string(), z.unknown());

/** Pod-level settings, for step pods (`podSettings`, `settings.kubernetes`) and for the orchestrator pod. */
export const podSettingsSchema = z
  .object({
    nodeSelector: z.record(z.string(), z.string()).optional().describe("Node labels the pod must run on, e.g. { \"cloud.google.com/gke-accelerator\": \"nvidia-l4\" }."),
    tolerations: z.array(k8sObject).optional().describe("Pod tolerations (core/v1 Toleration objects)."),
    affinity: k8sObject.optional().describe("Pod affinity (a core/v1 Affinity object)."),
    labels: z.record(z.string(), z.string()).optional().describe("Extra labels on the pod (and its Job)."),
    annotations: z.record(z.string(), z.string()).optional().describe("Extra annotations on the pod."),
    env: z.record(z.string(), z.string()).optional().describe("Environment variables of the container."),
    envFromSecrets: z.array(z.string()).optional().describe("Secrets whose keys all become environment variables (envFrom.secretRef)."),
    volumes: z.array(k8sObject).optional().describe("Extra pod volumes (core/v1 Volume objects)."),
    volumeMounts: z.array(k8sObject).optional().describe("Extra container volume mounts (core/v1 VolumeMount objects)."),
    securityContext: k8sObject.optional().describe("Pod security context (core/v1 PodSecurityContext)."),
    containerSecurityContext: k8sObject.optional().describe("Container security context (core/v1 SecurityContext)."),
    priorityClassName: z.string().optional().describe("Priority class of the pod."),
  })
  .strict();
export type PodSettings = z.output<typeof podSettingsSchema>;

/** `settings: { kubernetes: {...} }` on a step or pipeline: pod settings for that step's Job, plus its image. */
export const settingsSchema = podSettingsSchema
  .extend({
    image: z.string().min(1).optional().describe("Image of this step's pod; default: the orchestrator's image."),
    serviceAccount: dnsLabel("serviceAccount").optional().describe("Service account of this step's pod."),
  })
  .strict();
export type KubernetesStepSettings = z.output<typeof settingsSchema>;

export const configSchema = z
  .object({
    kubeconfig: z.string().optional().describe("Path to a kubeconfig file; default: $KUBECONFIG, then ~/.kube/config."),
    kubernetesContext: z.string().optional().describe("kubeconfig context to use (ZenML: kubernetes_context); default: the current context."),
    inCluster: z
      .boolean()
      .default(false)
      .describe("Use the pod's service account (what the orchestrator pod does); $KUBECONFIG still wins when set in the pod."),
    kubernetesNamespace: dnsLabel("kubernetesNamespace").default("default").describe("Namespace of the orchestrator and step Jobs (ZenML: kubernetes_namespace)."),
    serviceAccount: dnsLabel("serviceAccount")
      .optional()
      .describe("Service account of the orchestrator pod; it needs create/get/list/watch/delete on jobs and get/list/watch on pods and pods/log."),
    stepServiceAccount: dnsLabel("stepServiceAccount").optional().describe("Service account of step pods; default: serviceAccount."),
    image: z.string().min(1).optional().describe("Image with the project, its dependencies and orch-entrypoint; required to run (or build it with @orch/docker)."),
    build: z
      .object({
        baseImage: z.string().min(1).default("node:20-bookworm-slim").describe("Base image of the generated Dockerfile."),
        imageName: z.string().min(1).optional().describe("Repository name of the built image; default orch-<project folder>."),
      })
      .strict()
      .optional()
      .describe("When image is not set: build the project image with @orch/docker at submit and push it to the stack's container registry."),
    imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional().describe("Image pull policy of every pod."),
    imagePullSecrets: z.array(dnsLabel("imagePullSecrets entry")).default([]).describe("Secrets for pulling the image from a private registry."),
    projectRoot: z.string().min(1).default("/app").describe("Folder of the project inside the image (working directory, --project-root)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("How the image runs @orch/core's entrypoint bin when it is not on PATH, e.g. [\"node\", \"node_modules/@orch/core/dist/entrypoint/bin.js\"]; default: the bin on PATH."),
    scheduledRunCommand: z
      .array(z.string().min(1))
      .min(1)
      .default(["orch-kubernetes-scheduled-run"])
      .describe("How the image runs this plugin's orch-kubernetes-scheduled-run bin (the CronJob's command)."),
    pluginPackage: z
      .string()
      .optional()
      .describe("Package or module the orchestrator pod loads this plugin from; default @orch/plugin-kubernetes from the project."),
    artifactStoreVolume: z
      .object({
        claimName: dnsLabel("claimName").describe("PersistentVolumeClaim (ReadWriteMany) holding the local artifact store."),
        mountPath: z.string().startsWith("/").describe("Where the claim is mounted in every pod; the pods' artifact store path."),
        subPath: z.string().optional().describe("Sub-path of the volume to mount."),
      })
      .strict()
      .optional()
      .describe("Mount a volume with the local artifact store in every pod; without it pods get the store's own path (same machine only). Not mounted when the stack's store is remote (s3, gcs, azure)."),
    podSettings: podSettingsSchema.default({}).describe("Pod settings of every step pod (a step's settings.kubernetes overrides them)."),
    orchestratorPodSettings: podSettingsSchema.default({}).describe("Pod settings of the orchestrator pod."),
    orchestratorResources: ResourceSettingsSchema.optional().describe("Resources of the orchestrator pod."),
    maxParallelism: z.number().int().min(1).optional().describe("How many step Jobs run at once; default: as many as the DAG allows."),
    ttlSecondsAfterFinished: z.number().int().min(0).optional().describe("Delete finished Jobs (and their pods, with their logs) after this many seconds."),
    orchestratorRestarts: z
      .number()
      .int()
      .min(0)
      .default(3)
      .describe("How often a crashed orchestrator pod is restarted (it resumes the run; finished steps are not re-run)."),
    stepStartTimeoutSeconds: z
      .number()
      .int()
      .positive()
      .default(600)
      .describe("A step pod that has not started after this long (unschedulable, image pull errors) fails the step."),
    synchronous: z.boolean().default(true).describe("Wait for the run and stream its progress; false returns once the orchestrator Job is created."),
    jobNamePrefix: dnsLabel("jobNamePrefix").max(8).default("orch").describe("Prefix of Job, pod and CronJob names."),
    configSecret: z
      .string()
      .optional()
      .describe("Set by the plugin in the orchestrator pod: the Secret with the run's configuration, which step pods read the artifact store from."),
    storeEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/))
      .optional()
      .describe("Set by the plugin in the orchestrator pod: names of the artifact store's credential variables in configSecret (store-env.NAME), passed on to step pods."),
  })
  .strict();

export type KubernetesOrchestratorConfig = z.output<typeof configSchema>;
export type KubernetesOrchestratorConfigInput = z.input<typeof configSchema>;
