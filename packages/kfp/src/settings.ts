import { z } from "@orch/core/plugin";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Per-step settings a KFP-based flavor reads from `settings.<flavor>` (`settings.kubeflow`): what goes
 * into the container executor (env, accelerator type) and into the PlatformSpec's
 * `kubernetes_executor_config` (scheduling, secrets, volumes, pull secrets, pod metadata).
 */
export const kfpStepSettingsSchema = z
  .object({
    env: z
      .record(z.string().regex(ENV_NAME, "must be an environment variable name"), z.string())
      .default({})
      .describe("Environment variables for the step's container."),
    acceleratorType: z
      .string()
      .min(1)
      .optional()
      .describe('Accelerator resource for gpuCount (default "nvidia.com/gpu"; e.g. "amd.com/gpu").'),
    nodeSelector: z.record(z.string(), z.string()).default({}).describe("Node labels the step's pod must run on."),
    tolerations: z
      .array(
        z
          .object({
            key: z.string().optional().describe("Taint key; empty with operator Exists tolerates everything."),
            operator: z.enum(["Exists", "Equal"]).optional().describe("Exists or Equal (default Equal)."),
            value: z.string().optional().describe("Taint value for Equal."),
            effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional().describe("Taint effect; absent matches all."),
            tolerationSeconds: z.number().int().min(0).optional().describe("How long a NoExecute taint is tolerated."),
          })
          .strict(),
      )
      .default([])
      .describe("Tolerations of the step's pod."),
    secretEnv: z
      .array(
        z
          .object({
            secretName: z.string().min(1).describe("Kubernetes Secret in the run's namespace."),
            keys: z.record(z.string().regex(ENV_NAME, "must be an environment variable name"), z.string().min(1)).describe("Env var → key of the Secret."),
            optional: z.boolean().optional().describe("Start the pod even when the Secret is missing."),
          })
          .strict(),
      )
      .default([])
      .describe("Secrets exposed as environment variables."),
    pvcMounts: z
      .array(
        z
          .object({
            claimName: z.string().min(1).describe("PersistentVolumeClaim name."),
            mountPath: z.string().startsWith("/", "must be an absolute path").describe("Where the volume appears in the container."),
            subPath: z.string().optional().describe("Folder of the volume to mount (default its root)."),
          })
          .strict(),
      )
      .default([])
      .describe("PersistentVolumeClaims mounted into the step's container."),
    imagePullSecrets: z.array(z.string().min(1)).default([]).describe("Secrets for pulling the image from a private registry."),
    imagePullPolicy: z.enum(["Always", "Never", "IfNotPresent"]).optional().describe("Image pull policy of the step's container."),
    podLabels: z.record(z.string(), z.string()).default({}).describe("Labels on the step's pod."),
    podAnnotations: z.record(z.string(), z.string()).default({}).describe("Annotations on the step's pod."),
  })
  .strict();

export type KfpStepSettings = z.output<typeof kfpStepSettingsSchema>;
export type KfpStepSettingsInput = z.input<typeof kfpStepSettingsSchema>;
