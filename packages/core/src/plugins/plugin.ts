import type { z } from "zod";
import { OrchError } from "../errors.js";
import { FLAVOR_ID_PATTERN, displayFlavor } from "../flavors.js";
import { describeZodIssues } from "../zod-issues.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import type { RunRecord, StepRecord } from "../store/journal.js";
import type { RunObserver } from "../run/observer.js";
import type { Schedule } from "../settings/index.js";
import type { OrchestratorCapabilities } from "./capabilities-schema.js";

export type { OrchestratorCapabilities } from "./capabilities-schema.js";

/**
 * Version of the contract between core and plugins. A plugin records the version it was built for
 * (via `defineOrchestrator`); core refuses plugins built for another major contract.
 */
export const ORCH_PLUGIN_API = 1;

export interface PluginContext {
  /** The user's project root (source paths in snapshots are relative to it). */
  projectRoot: string;
  /** Name of the stack being activated. */
  stackName: string;
  artifactStore: ArtifactStore;
  containerRegistry?: ContainerRegistryComponent;
}

/**
 * The stack's container registry as flavors receive it: the validated config (secrets still as
 * `{{env.NAME}}` references: nothing secret travels with it) and `open()`, which opens the registry
 * (its flavor's SDK loads then) to get credentials at push time.
 */
export interface ContainerRegistryComponent {
  flavor: string;
  config: Record<string, unknown>;
  open?(): Promise<import("./container-registry.js").ContainerRegistry>;
}

export interface SubmitContext {
  runId: string;
  signal: AbortSignal;
  observer?: RunObserver;
  /** Step functions compiled in this process (in-process flavors use them directly). */
  definitions?: Map<string, import("../dsl/step.js").StepDefinition>;
  pipeline?: import("../dsl/pipeline.js").PipelineDefinition;
  /** Keep steps of `runId` that already succeeded. */
  resume?: boolean;
}

export interface RunHandle {
  runId: string;
  /** Resolves when the run has ended (synchronous flavors) — fire-and-forget flavors resolve with status "running". */
  wait(): Promise<{ run: RunRecord; steps: StepRecord[]; snapshot?: Snapshot }>;
  /** Where to look at the run in the backend's own UI, when there is one. */
  url?: string;
}

export interface Orchestrator {
  readonly flavor: string;
  submit(snapshot: Snapshot, context: SubmitContext): Promise<RunHandle>;
  /** Native files for `orch pipeline compile` (KFP IR, Airflow DAG, manifests …), path → contents. */
  compile?(snapshot: Snapshot): Promise<Record<string, string>>;
  status?(runId: string): Promise<RunRecord["status"] | undefined>;
  /** Where to look at a run in the backend's own UI (a studio or console page), for `orch run show`. */
  runUrl?(runId: string): string | undefined | Promise<string | undefined>;
  /** Asks the run to stop; `graceSeconds`: how long a local driving process gets before it is killed. */
  stop?(runId: string, options?: { graceSeconds?: number }): Promise<void>;
  logs?(runId: string, stepId: string, options?: { follow?: boolean }): AsyncIterable<string>;
  schedule?(snapshot: Snapshot, schedule: Schedule): Promise<{ id: string }>;
  deleteSchedule?(id: string): Promise<void>;
  listSchedules?(): Promise<{ id: string; pipeline: string; schedule: string }[]>;
  preflight?(snapshot: Snapshot): Promise<void>;
  dispose?(): Promise<void>;
  /**
   * How `orch-entrypoint orchestrate` starts one step when this flavor's in-cluster orchestrator runs
   * the core scheduler (a Kubernetes Job per step, …). Absent: steps run in the orchestrator process.
   */
  stepLauncher?: import("../run/execute-run.js").StepLauncher;
}

export interface OrchestratorPlugin<S extends z.ZodType = z.ZodType> {
  readonly kind: "orchestrator";
  readonly apiVersion: number;
  readonly flavor: string;
  readonly configSchema: S;
  readonly settingsSchema?: z.ZodType;
  readonly capabilities: OrchestratorCapabilities;
  create(config: z.output<S>, context: PluginContext): Promise<Orchestrator>;
}

export interface ArtifactStorePlugin<S extends z.ZodType = z.ZodType> {
  readonly kind: "artifact-store";
  readonly apiVersion: number;
  readonly flavor: string;
  readonly configSchema: S;
  /** True when containers/remote machines can reach the store (a bucket), false for a local folder. */
  readonly remote: boolean;
  create(config: z.output<S>, context: { projectRoot: string }): Promise<ArtifactStore>;
}

/** Declares an artifact-store plugin: stamps kind and API version, checks the flavor id, freezes it. */
export function defineArtifactStore<S extends z.ZodType>(definition: Omit<ArtifactStorePlugin<S>, "kind" | "apiVersion">): ArtifactStorePlugin<S> {
  assertFlavorId(definition.flavor);
  return Object.freeze({ kind: "artifact-store" as const, apiVersion: ORCH_PLUGIN_API, ...definition });
}

export type AnyPlugin = OrchestratorPlugin | ArtifactStorePlugin | import("./container-registry.js").ContainerRegistryPlugin;

/** Refuses a flavor id that is not canonical (lower-case kebab case). */
export function assertFlavorId(flavor: string): void {
  if (!FLAVOR_ID_PATTERN.test(flavor)) {
    throw new OrchError("E_PLUGIN_INVALID", {
      flavor,
      message: `Plugin flavor "${flavor}" is not a canonical flavor id.`,
      hint: 'Use lower-case kebab-case, e.g. "local-docker" (users may still write local_docker).',
    });
  }
}

/** Validates a component's config against its plugin's schema, naming the flavor and key on error. */
export function parseComponentConfig<S extends z.ZodType>(plugin: { flavor: string; configSchema: S }, config: unknown): z.output<S> {
  const parsed = plugin.configSchema.safeParse(config ?? {});
  if (parsed.success) return parsed.data;
  const problems = describeZodIssues(parsed.error);
  throw new OrchError("E_CONFIG_INVALID", {
    flavor: plugin.flavor,
    key: problems.key,
    message: `[orch] [${displayFlavor(plugin.flavor)}] ${problems.text}`,
    hint: `See the configuration keys of the ${displayFlavor(plugin.flavor)} flavor in its README (or: orch orchestrator flavor list).`,
  });
}
