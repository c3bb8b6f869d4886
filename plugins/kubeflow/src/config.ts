/**
 * The kubeflow flavor's schemas: the component config and `settings.kubeflow` (the step settings of
 * @orch/kfp's compiler). Its own file so that the entry, the client and the runtime import it without
 * importing each other.
 */
// The schema alone (no compiler, no YAML writer): the entry stays light.
import { kfpStepSettingsSchema } from "@orch/kfp/settings";
import { secret, z } from "@orch/core/plugin";

export const FLAVOR = "kubeflow";

/** `settings: { kubeflow: {...} }` on a step or pipeline: env, accelerator type and pod settings of its task. */
export const settingsSchema = kfpStepSettingsSchema;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (what: string) => z.string().max(63).regex(DNS_LABEL, { error: `${what} must be a DNS-1123 label: lower-case letters, digits and "-"` });

/** KFP's API inside the cluster, where it is installed by the standard manifests. */
export const IN_CLUSTER_HOST = "http://ml-pipeline.kubeflow.svc.cluster.local:8888";

export const configSchema = z
  .object({
    host: z
      .string()
      .url({ error: "host must be a URL such as https://kubeflow.example.com/pipeline or http://127.0.0.1:8888" })
      .default(IN_CLUSTER_HOST)
      .describe(`URL of the KFP API (ZenML: kubeflow_hostname), e.g. https://kubeflow.example.com/pipeline; default the in-cluster service ${IN_CLUSTER_HOST}.`),
    userNamespace: dnsLabel("userNamespace")
      .optional()
      .describe("Profile namespace of a multi-user Kubeflow (ZenML: user_namespace): pipelines, experiments and runs are created there."),
    kubeflowNamespace: dnsLabel("kubeflowNamespace").default("kubeflow").describe("Namespace KFP is installed in (ZenML: kubeflow_namespace); where pods run without userNamespace."),
    token: secret(z.string().min(1).optional().describe("Bearer token for the KFP API (secret; e.g. a service-account token, or ${KF_PIPELINES_TOKEN}).")),
    cookie: secret(z.string().min(1).optional().describe('Session cookie for a Kubeflow behind Dex/oauth2-proxy (secret), e.g. "authservice_session=…".')),
    experiment: z.string().min(1).max(128).default("orch").describe("Experiment the runs are created in (created when missing)."),
    serviceAccount: dnsLabel("serviceAccount").optional().describe("Kubernetes service account of the run's pods; default KFP's (pipeline-runner)."),
    image: z.string().min(1).optional().describe("Image with the project, its dependencies and orch-entrypoint; required to run or compile."),
    projectRoot: z.string().startsWith("/", "must be an absolute path").default("/app").describe("Folder of the project inside the image (--project-root)."),
    entrypointCommand: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('How the image runs @orch/core\'s entrypoint when it is not on PATH, e.g. ["node", "node_modules/@orch/core/dist/entrypoint/bin.js"]; default: orch-entrypoint on PATH.'),
    runCommand: z
      .array(z.string().min(1))
      .min(1)
      .default(["orch-kubeflow-run"])
      .describe("How the image runs this plugin's orch-kubeflow-run bin (the setup and finalize tasks of a scheduled run)."),
    pipelineRoot: z
      .string()
      .min(1)
      .optional()
      .describe("pipeline_root of each run (where KFP keeps its own outputs); default <artifact store URI>/kfp-root for a remote store."),
    storeCredentialsSecret: z
      .string()
      .min(1)
      .optional()
      .describe("Kubernetes Secret (in the run's namespace) with the artifact store's credentials, keys named like their env vars; without it the credentials are written into the IR's env."),
    kubernetesContext: z.string().optional().describe("kubeconfig context for reading pod logs (ZenML: kubernetes_context); without it orch run logs reads the journal."),
    kubeconfig: z.string().optional().describe("kubeconfig file for pod logs; default $KUBECONFIG, then ~/.kube/config."),
    synchronous: z.boolean().default(true).describe("Wait for the run and stream its progress; false returns once the run is created."),
    pollIntervalSeconds: z.number().positive().max(300).default(5).describe("How often a run's state is read from the KFP API while following it."),
    requestTimeoutSeconds: z.number().positive().default(30).describe("Timeout of each KFP API request."),
    strict: z.boolean().default(true).describe("Refuse settings KFP cannot honour (false: warn and go on)."),
  })
  .strict();

export type KubeflowOrchestratorConfig = z.output<typeof configSchema>;
export type KubeflowOrchestratorConfigInput = z.input<typeof configSchema>;
