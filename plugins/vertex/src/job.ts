/**
 * What orch sends Vertex: the PipelineJob of a run (or of a schedule's runs), its id, labels and the
 * console URL. Pure functions of the config, the IR and the run id.
 */
import { ORCH_LABELS, ORCH_MANAGED_BY, OrchError, sha256 } from "@orch/core/plugin";
import type { VertexOrchestratorConfig } from "./config.js";
import type { protos } from "@google-cloud/aiplatform";
import { helpers } from "./client.js";

type IValue = protos.google.protobuf.IValue;

/**
 * A PipelineJob id for a run: `orch-<run id>` in the characters Vertex allows (`[a-z0-9-]`). A run id
 * that changes on the way (upper case, `_`) gets a hash of itself, so two run ids never share a job.
 */
export function pipelineJobId(runId: string): string {
  const safe = runId.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  return `orch-${safe}${safe === runId ? "" : `-${sha256(runId).slice(0, 8)}`}`;
}

/**
 * orch's label vocabulary in Google Cloud's spelling (keys and values: lower case, digits, `_`, `-`,
 * at most 63): `orch.dev/run-id` → `orch-run-id`, `app.kubernetes.io/managed-by` → `managed-by`.
 */
export const VERTEX_LABELS = Object.freeze({
  managedBy: gcpKey(ORCH_LABELS.managedBy),
  flavor: gcpKey(ORCH_LABELS.flavor),
  runId: gcpKey(ORCH_LABELS.runId),
  pipeline: gcpKey(ORCH_LABELS.pipeline),
  schedule: gcpKey(ORCH_LABELS.schedule),
});

function gcpKey(key: string): string {
  const [domain, name] = key.split("/") as [string, string];
  return domain === "orch.dev" ? `orch-${name}` : name;
}

/** A label value as Google Cloud accepts it. */
export function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "-")
    .slice(0, 63);
}

export function runLabels(config: VertexOrchestratorConfig, pipeline: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...config.labels,
    [VERTEX_LABELS.managedBy]: ORCH_MANAGED_BY,
    [VERTEX_LABELS.flavor]: "vertex",
    [VERTEX_LABELS.pipeline]: labelValue(pipeline),
    ...extra,
  };
}

/** The Google Cloud console page of a PipelineJob. */
export function consoleUrl(project: string, location: string, jobId: string): string {
  return `https://console.cloud.google.com/vertex-ai/locations/${location}/pipelines/runs/${jobId}?project=${encodeURIComponent(project)}`;
}

/**
 * runtimeConfig.gcsOutputDirectory: where Vertex keeps the pipeline's own outputs. Vertex writes only
 * to Cloud Storage, so the stack's artifact store must be a gcs store; the default is a folder in it.
 */
export function pipelineRoot(config: Pick<VertexOrchestratorConfig, "pipelineRoot">, store: { flavor: string; config: Record<string, unknown> }): string {
  if (config.pipelineRoot) return config.pipelineRoot;
  const path = store.flavor === "gcs" ? String(store.config.path ?? "") : "";
  if (!path.startsWith("gs://")) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "vertex",
      key: "pipelineRoot",
      message: `The vertex orchestrator needs a Cloud Storage artifact store (gcs), but the stack's artifact store is ${store.flavor}${path ? ` at ${path}` : ""}: Vertex AI tasks read and write only gs:// paths.`,
      hint: "Use a gcs artifact store in the stack (orch artifact-store register NAME --flavor=gcs --path=gs://bucket/orch).",
    });
  }
  return `${path.replace(/\/+$/, "")}/vertex-pipeline-root`;
}

export interface PipelineJobInput {
  config: VertexOrchestratorConfig;
  /** The KFP IR (plain JSON). */
  pipelineSpec: Record<string, unknown>;
  displayName: string;
  labels: Record<string, string>;
  /** Values of the IR's root input parameters. */
  parameterValues: Record<string, unknown>;
  gcsOutputDirectory: string;
}

/**
 * The PipelineJob message. The IR must travel as a protobuf Struct: the SDK serialises `pipelineSpec`
 * through its proto type, and a plain object there is sent as `{}` without any error.
 */
export function pipelineJob(input: PipelineJobInput): protos.google.cloud.aiplatform.v1.IPipelineJob {
  const { config } = input;
  const spec = toValue(input.pipelineSpec).structValue;
  if (!spec?.fields || !Object.keys(spec.fields).length) {
    throw new OrchError("E_PLUGIN_INVALID", { flavor: "vertex", message: "The compiled pipeline spec is empty.", hint: "Report this as a bug of @orch/plugin-vertex." });
  }
  const parameterValues: Record<string, IValue> = {};
  // A null parameter is left unset: the IR declares it optional with no default (null is not a KFP value).
  for (const [name, value] of Object.entries(input.parameterValues)) if (value !== null && value !== undefined) parameterValues[name] = toValue(value);
  return {
    displayName: input.displayName,
    pipelineSpec: spec,
    labels: input.labels,
    runtimeConfig: { gcsOutputDirectory: input.gcsOutputDirectory, parameterValues },
    ...(config.serviceAccount ? { serviceAccount: config.serviceAccount } : {}),
    ...(config.network ? { network: config.network } : {}),
    ...(config.encryptionSpecKeyName ? { encryptionSpec: { kmsKeyName: config.encryptionSpecKeyName } } : {}),
  };
}

/** Any JSON value as a google.protobuf.Value (helpers.toValue; null and undefined as null_value). */
export function toValue(value: unknown): IValue {
  if (value === null || value === undefined) return { nullValue: "NULL_VALUE" };
  return (helpers.toValue(value as object) ?? { nullValue: "NULL_VALUE" }) as IValue;
}

/** A display name Vertex accepts (≤ 128 characters). */
export function displayName(pipeline: string, suffix = ""): string {
  return `${pipeline.slice(0, 100)}${suffix}`;
}
