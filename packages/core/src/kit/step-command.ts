import type { ComponentSpec } from "../plugins/stack.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { ENTRYPOINT_NAME } from "./core-entrypoint.js";

/** Environment variables `orch-entrypoint` and the step runner read: the only place they are spelled. */
export const ORCH_ENV = Object.freeze({
  runId: "ORCH_RUN_ID",
  stepId: "ORCH_STEP_ID",
  /** `{ flavor, config, package? }` of the artifact store, as `describe()` gives it. */
  artifactStore: "ORCH_ARTIFACT_STORE",
  /** `{ flavor, config, package? }` of the orchestrator, for `orch-entrypoint orchestrate`. */
  orchestrator: "ORCH_ORCHESTRATOR",
  /** A folder of modules compiled ahead of time (see compiled-root.ts). */
  compiledRoot: "ORCH_COMPILED_ROOT",
  /**
   * The backend retries the step (Airflow retries, KFP retryPolicy): the process runs this one
   * attempt (1 = the first) instead of the retry policy's loop, so failures are not retried twice.
   */
  attempt: "ORCH_ATTEMPT",
  /**
   * The name of another environment variable that holds the run id, for a run the backend started and
   * named (an Azure ML schedule's pipeline job: `AZUREML_ROOT_RUN_ID`). Read at run time instead of a
   * fixed `--run-id`; see backend-run-id.ts for how the backend's name becomes an orch run id.
   */
  runIdFrom: "ORCH_RUN_ID_FROM",
});

interface StepCommandBase {
  stepId: string;
  /** The project folder where the step runs (snapshot source paths are relative to it). */
  projectRoot: string;
  /**
   * How the process starts `orch-entrypoint`: `["orch-entrypoint"]` (the bin on PATH, the default),
   * or `entrypointCommand(...)` for `node … bin.js`.
   */
  entrypoint?: readonly string[];
  /** The artifact store the step opens: its `describe()` and `env()` (credentials) go into the environment. */
  store?: Pick<ArtifactStore, "describe" | "env">;
  /** Load the store plugin from this path instead of resolving its flavor (a bundled plugin). */
  storePackage?: string;
  /**
   * The backend retries the step itself: the attempt number this process runs (a template such as
   * Airflow's `{{ ti.try_number }}` is fine). Unset: the process runs the retry policy's whole loop.
   */
  attempt?: string;
}

/**
 * The run: a fixed `runId`, or `runIdFrom`, the environment variable in which the backend names the
 * run when the process starts (a schedule's firing, which orch does not name): then the command line
 * has no `--run-id` and `$ORCH_RUN_ID_FROM` tells `orch-entrypoint` where to read it.
 */
export type StepCommandInput = StepCommandBase & ({ runId: string; runIdFrom?: undefined } | { runIdFrom: string; runId?: undefined });

/** `command` + `args` is the argv; `env` is what the process needs besides (credentials included). */
export interface StepCommand {
  command: string[];
  args: string[];
  argv: string[];
  env: Record<string, string>;
}

/**
 * The one spelling of how a step runs elsewhere: `orch-entrypoint step --run-id … --step …
 * --project-root …`, with the run, the step and the artifact store in the environment. The store
 * travels only in the environment (a Kubernetes Secret, a container's env), never on the command
 * line, so `ps` and pod specs show no configuration. The process reads the snapshot and upstream
 * outputs from the store and writes the step's record, log and outputs there.
 */
export function stepCommand(input: StepCommandInput): StepCommand {
  const command = [...(input.entrypoint ?? [ENTRYPOINT_NAME])];
  const runIdArgs = input.runIdFrom === undefined ? ["--run-id", input.runId] : [];
  const args = ["step", ...runIdArgs, "--step", input.stepId, "--project-root", input.projectRoot];
  const env: Record<string, string> = {};
  if (input.store) {
    Object.assign(env, input.store.env?.() ?? {});
    const spec: ComponentSpec<never> = { ...input.store.describe(), ...(input.storePackage ? { package: input.storePackage } : {}) };
    env[ORCH_ENV.artifactStore] = JSON.stringify(spec);
  }
  if (input.runIdFrom === undefined) env[ORCH_ENV.runId] = input.runId;
  else env[ORCH_ENV.runIdFrom] = input.runIdFrom;
  env[ORCH_ENV.stepId] = input.stepId;
  if (input.attempt !== undefined) env[ORCH_ENV.attempt] = input.attempt;
  return { command, args, argv: [...command, ...args], env };
}

export interface OrchestrateCommandInput {
  runId: string;
  projectRoot: string;
  /** How the process starts `orch-entrypoint` (as for {@link stepCommand}). */
  entrypoint?: readonly string[];
  /** The stack the run was submitted on, recorded in its journal. */
  stack?: string;
  /** Keep what an earlier process of this run finished (a replaced orchestrator pod). */
  resume?: boolean;
  maxParallelism?: number;
}

/**
 * The one spelling of `orch-entrypoint orchestrate`: a process that runs the whole run with core's
 * scheduler on the backend (an orchestrator pod), launching each step through the orchestrator in
 * `$ORCH_ORCHESTRATOR`. Like {@link stepCommand}, configuration travels only in the environment
 * (the backend injects `ORCH_ORCHESTRATOR` and `ORCH_ARTIFACT_STORE`, e.g. from a Secret).
 */
export function orchestrateCommand(input: OrchestrateCommandInput): StepCommand {
  const command = [...(input.entrypoint ?? [ENTRYPOINT_NAME])];
  const args = [
    "orchestrate",
    "--run-id",
    input.runId,
    "--project-root",
    input.projectRoot,
    ...(input.stack ? ["--stack", input.stack] : []),
    ...(input.resume ? ["--resume"] : []),
    ...(input.maxParallelism ? ["--max-parallelism", String(input.maxParallelism)] : []),
  ];
  return { command, args, argv: [...command, ...args], env: { [ORCH_ENV.runId]: input.runId } };
}
