/**
 * Builds the Azure ML PipelineJob of a run as plain JSON (no SDK): the body of
 * `PUT …/workspaces/{ws}/jobs/{name}` (api-version 2022-10-01, what @azure/arm-machinelearning pins).
 *
 * Casing is mixed on purpose, as Azure ML itself has it: the ARM resource (`properties.jobType`,
 * `computeId`, `experimentName` …) is camelCase; the pipeline's `settings` and its child nodes under
 * `jobs` are free-form to ARM and use the snake_case keys Azure ML's own SDK writes (`display_name`,
 * `environment_variables`, `job_input_type`, `job_limits_type`), except `computeId` on a node.
 *
 * Ordering: Azure ML runs a pipeline's nodes in the order of their data bindings only, so every edge
 * upstream → downstream is a small control output `orch_done` of the upstream node (an empty
 * uri_folder) bound to an input `after_<upstream node>` of the downstream node. Step data does not
 * travel through these bindings: it moves through the artifact store, as on every flavor.
 *
 * A schedule's pipeline job (`scheduled`) is fired by Azure ML, not orch: no node carries a fixed run
 * id. Each firing's orch run id is its pipeline job's name, which Azure ML gives every child job as
 * `AZUREML_ROOT_RUN_ID` (the nodes get `ORCH_RUN_ID_FROM=AZUREML_ROOT_RUN_ID`, core's contract). A node
 * `orch_setup` (before every step) writes the run's journal from the schedule's snapshot, and a node
 * `orch_finalize` (after every step) records its end — both bound by the same control outputs.
 */
import { OrchError, ORCH_ENV, canonicalJson, sha256, stepCommand, stepTimeBudget, type ArtifactStore, type Snapshot, type SnapshotStep } from "@orch/core/plugin";
import { FLAVOR, settingsSchema, type AzureMLOrchestratorConfig, type AzureMLStepSettings } from "./config.js";
import { instanceTypeFor } from "./vm-sizes.js";

/** The control output every node with downstream nodes has. */
export const CONTROL_OUTPUT = "orch_done";
/** Prefix of a node's control inputs (`after_<upstream node>`). */
export const CONTROL_INPUT_PREFIX = "after_";
/** Tags on the pipeline job: orch finds its runs and checks idempotency by them. */
export const TAGS = { runId: "orch.run-id", pipeline: "orch.pipeline", snapshotHash: "orch.snapshot-hash", stepId: "orch.step-id", task: "orch.task" } as const;
/** Where Azure ML names the pipeline job to its child jobs: a scheduled firing's orch run id comes from it. */
export const ROOT_RUN_ID_ENV = "AZUREML_ROOT_RUN_ID";
/** The setup and finalize nodes of a schedule's pipeline job (step ids that map to these names are refused there). */
export const SETUP_NODE = "orch_setup";
export const FINALIZE_NODE = "orch_finalize";

export interface PipelineJobInput {
  config: AzureMLOrchestratorConfig;
  snapshot: Snapshot;
  runId: string;
  /** The image the environment is made from (config image, or the one built at submit). */
  image: string;
  /** The artifact store the steps open (its describe() and env() go into each node's environment). */
  store: Pick<ArtifactStore, "describe" | "env">;
  /**
   * A schedule's pipeline job: each firing is its own run, named by Azure ML (`runId` is unused);
   * `snapshotKey` is where the schedule's snapshot waits in the artifact store, `stack` the stack its
   * runs are recorded on.
   */
  scheduled?: { snapshotKey: string; stack?: string };
}

export interface JobNode {
  type: "command";
  name: string;
  display_name: string;
  computeId: string;
  command: string;
  environment_id: string;
  environment_variables: Record<string, string>;
  inputs: Record<string, { job_input_type: "literal"; value: string }>;
  outputs: Record<string, { job_output_type: "uri_folder" }>;
  resources?: { instance_type: string; instance_count: number };
  limits?: { job_limits_type: "Command"; timeout: string };
  tags: Record<string, string>;
}

export interface PipelineJobBody {
  properties: {
    jobType: "Pipeline";
    displayName: string;
    experimentName: string;
    computeId: string;
    tags: Record<string, string>;
    properties: Record<string, string>;
    settings: { default_compute: string; continue_on_step_failure: boolean; force_rerun: boolean };
    jobs: Record<string, JobNode>;
  };
}

/** ARM id of a workspace resource. */
export function workspaceId(config: Pick<AzureMLOrchestratorConfig, "subscriptionId" | "resourceGroup" | "workspace">): string {
  return `/subscriptions/${config.subscriptionId}/resourceGroups/${config.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${config.workspace}`;
}
export const computeId = (config: AzureMLOrchestratorConfig, target = config.computeTarget) => `${workspaceId(config)}/computes/${target}`;

/** The environment version of an image: the same image always gives the same version (so it is reused). */
export const environmentVersion = (image: string) => sha256(image).slice(0, 16);
export const environmentId = (config: AzureMLOrchestratorConfig, image: string) =>
  `${workspaceId(config)}/environments/${config.environmentName}/versions/${environmentVersion(image)}`;

/** Name of a run's pipeline job (Azure ML job names: letters, digits, "-" and "_"). */
export const pipelineJobName = (runId: string) => `orch-${runId}`;

/** Hash of what a run submits: a second createOrUpdate with the same hash is the same job. */
export const snapshotHash = (snapshot: Snapshot) => sha256(canonicalJson(snapshot)).slice(0, 32);

/**
 * Node names: Azure ML wants `^[a-z_][a-z0-9_]*$` (≤ 255). Step ids that already are one keep their
 * name; others are lower-cased with "-" → "_" and a short hash, so two ids never share a node.
 */
export function nodeName(stepId: string): string {
  if (/^[a-z_][a-z0-9_]{0,254}$/.test(stepId)) return stepId;
  const base = stepId.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^([0-9])/, "_$1");
  return `${base}_${sha256(stepId).slice(0, 6)}`;
}

/** POSIX shell quoting of one argument (Azure ML runs `command` with a shell). */
export const shellQuote = (arg: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`);

/** ISO 8601 duration of whole seconds, as command job limits take it. */
export const isoSeconds = (ms: number) => `PT${Math.ceil(ms / 1000)}S`;

/** A step's `settings.azureml`, validated (a misspelt key is an error naming the step). */
export function stepSettings(step: SnapshotStep): AzureMLStepSettings {
  const raw = step.settings.flavors[FLAVOR] ?? {};
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".");
    throw new OrchError("E_SETTINGS_INVALID", {
      flavor: FLAVOR,
      step: step.id,
      key: `settings.azureml.${key}`,
      message: `Step "${step.id}": settings.azureml.${key}: ${issue.message}.`,
      hint: "settings.azureml takes instanceType, gpuType, computeTarget and environmentVariables (see the @orch/plugin-azureml README).",
    });
  }
  return parsed.data;
}

/** The control input of a node that runs after `upstream` (a node name). */
const after = (upstream: string): [string, JobNode["inputs"][string]] => [`${CONTROL_INPUT_PREFIX}${upstream}`, { job_input_type: "literal", value: `\${{parent.jobs.${upstream}.outputs.${CONTROL_OUTPUT}}}` }];

function commandNode(input: PipelineJobInput, step: SnapshotStep, downstream: boolean): JobNode {
  const { config, runId, scheduled } = input;
  const settings = stepSettings(step);
  const common = { stepId: step.id, projectRoot: config.projectRoot, store: input.store, ...(config.entrypointCommand ? { entrypoint: config.entrypointCommand } : {}) };
  const cmd = stepCommand(scheduled ? { ...common, runIdFrom: ROOT_RUN_ID_ENV } : { ...common, runId });
  const instanceType = instanceTypeFor(step.id, step.settings.resources, settings);
  const budget = stepTimeBudget(step);
  const inputs: JobNode["inputs"] = Object.fromEntries([...(scheduled ? [after(SETUP_NODE)] : []), ...step.upstream.map((upstream) => after(nodeName(upstream)))]);
  return {
    type: "command",
    name: nodeName(step.id),
    display_name: step.id,
    computeId: computeId(config, settings.computeTarget),
    command: cmd.argv.map(shellQuote).join(" "),
    environment_id: environmentId(config, input.image),
    environment_variables: { ...settings.environmentVariables, ...cmd.env },
    inputs,
    outputs: downstream ? { [CONTROL_OUTPUT]: { job_output_type: "uri_folder" } } : {},
    ...(instanceType ? { resources: { instance_type: instanceType, instance_count: 1 } } : {}),
    ...(budget !== undefined ? { limits: { job_limits_type: "Command" as const, timeout: isoSeconds(budget) } } : {}),
    tags: { [TAGS.stepId]: step.id, ...(scheduled ? {} : { [TAGS.runId]: runId }) },
  };
}

/** The setup or finalize node of a schedule's pipeline job: `orch-azureml-run setup|finalize`, the run id from AZUREML_ROOT_RUN_ID. */
function taskNode(input: PipelineJobInput, task: "setup" | "finalize", inputs: JobNode["inputs"], downstream: boolean): JobNode {
  const { config, scheduled } = input;
  // The store's environment, as the steps get it (no step of their own).
  const { env } = stepCommand({ runIdFrom: ROOT_RUN_ID_ENV, stepId: task, projectRoot: config.projectRoot, store: input.store });
  delete env[ORCH_ENV.stepId];
  const args = task === "setup" ? ["setup", "--snapshot", scheduled!.snapshotKey, ...(scheduled!.stack ? ["--stack", scheduled!.stack] : [])] : ["finalize"];
  return {
    type: "command",
    name: task === "setup" ? SETUP_NODE : FINALIZE_NODE,
    display_name: task === "setup" ? SETUP_NODE : FINALIZE_NODE,
    computeId: computeId(config),
    command: [...config.runCommand, ...args, "--project-root", config.projectRoot].map(shellQuote).join(" "),
    environment_id: environmentId(config, input.image),
    environment_variables: env,
    inputs,
    outputs: downstream ? { [CONTROL_OUTPUT]: { job_output_type: "uri_folder" } } : {},
    tags: { [TAGS.task]: task },
  };
}

/** The PipelineJob body of a run: one command node per step, in the snapshot's order, ordered by control bindings. */
export function pipelineJob(input: PipelineJobInput): PipelineJobBody {
  const { config, snapshot, runId } = input;
  if (snapshot.pipeline.dynamic) {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: FLAVOR,
      message: `Pipeline "${snapshot.pipeline.name}" is dynamic; an Azure ML pipeline job is a fixed graph of command jobs, so the azureml orchestrator cannot run it.`,
      hint: "Run dynamic pipelines on a flavor whose capabilities include dynamic (local, local_docker, kubernetes), or make the pipeline static.",
    });
  }
  const { scheduled } = input;
  // Scheduled: every step node has a control output, which the finalize node waits for.
  const hasDownstream = new Set(snapshot.order.flatMap((id) => (scheduled ? [id] : snapshot.steps[id]!.upstream)));
  const names = new Map<string, string>();
  const jobs: Record<string, JobNode> = {};
  for (const id of snapshot.order) {
    const node = commandNode(input, snapshot.steps[id]!, hasDownstream.has(id));
    const clash = names.get(node.name);
    if (clash) throw new OrchError("E_CAPABILITY_UNSUPPORTED", { flavor: FLAVOR, step: id, message: `Steps "${clash}" and "${id}" map to the same Azure ML node name ${node.name}.`, hint: "Give one of the invocations another id." });
    if (scheduled && (node.name === SETUP_NODE || node.name === FINALIZE_NODE)) {
      throw new OrchError("E_CAPABILITY_UNSUPPORTED", {
        flavor: FLAVOR,
        step: id,
        message: `Step "${id}" maps to the Azure ML node name ${node.name}, which a schedule's pipeline job uses for orch's own ${node.name === SETUP_NODE ? "setup" : "finalize"} node.`,
        hint: "Give the invocation another id.",
      });
    }
    names.set(node.name, id);
    jobs[node.name] = node;
  }
  let nodes = jobs;
  if (scheduled) {
    // Azure ML keeps the order of `jobs` as written: setup first, finalize last.
    nodes = { [SETUP_NODE]: taskNode(input, "setup", {}, true), ...jobs, [FINALIZE_NODE]: taskNode(input, "finalize", Object.fromEntries(Object.keys(jobs).map(after)), false) };
  }
  const runTags: Record<string, string> = scheduled ? {} : { [TAGS.runId]: runId };
  return {
    properties: {
      jobType: "Pipeline",
      displayName: scheduled ? `${snapshot.pipeline.name} (scheduled)` : `${snapshot.pipeline.name} ${runId}`,
      experimentName: config.experimentName ?? snapshot.pipeline.name,
      computeId: computeId(config),
      tags: { ...runTags, [TAGS.pipeline]: snapshot.pipeline.name, [TAGS.snapshotHash]: snapshotHash(snapshot) },
      properties: scheduled ? {} : { [ORCH_ENV.runId]: runId },
      settings: {
        default_compute: computeId(config),
        continue_on_step_failure: snapshot.pipeline.settings.executionMode === "continue-on-failure",
        // orch's runner caches steps itself (through the artifact store); Azure ML's reuse would skip a step's record.
        force_rerun: true,
      },
      jobs: nodes,
    },
  };
}
