/**
 * @orch/core/plugin — everything a plugin author needs, and nothing else: the descriptors
 * (`defineOrchestrator`, `defineArtifactStore`), the runtime contract, and the shared work of every
 * flavor, so a flavor implements only its translation (native spec + API calls).
 *
 * - In-process flavors, and flavors whose submitting process drives the run: `runOnCoreScheduler`.
 * - Remote flavors: `stepCommand`, `stepTimeBudget`, `followRun`, `settleRun`, `readStepLog`,
 *   `ORCH_LABELS`, and `orchestrate` for the plugin's own bins.
 *
 * @example
 * // index.ts — light: @orch/core/plugin only; the backend's SDK loads with the runtime module.
 * import { componentFactory, defineOrchestrator, z } from "@orch/core/plugin";
 * export const configSchema = z.object({ maxParallelism: z.number().int().min(1).default(4) }).strict();
 * const plugin = defineOrchestrator({ flavor: "my-flavor", configSchema, capabilities: { dynamic: true, parallel: true }, runtime: () => import("./runtime.js") });
 * export default plugin;
 * export const myFlavor = componentFactory(plugin);
 *
 * // runtime.ts
 * import { runOnCoreScheduler, type Orchestrator, type PluginContext } from "@orch/core/plugin";
 * export function createOrchestrator(config: { maxParallelism: number }, context: PluginContext): Orchestrator {
 *   return { flavor: "my-flavor", async submit(snapshot, submit) { return runOnCoreScheduler(snapshot, { plugin: context, submit, flavor: "my-flavor", maxParallelism: config.maxParallelism }); } };
 * }
 *
 * @module
 */
export { z } from "zod";

// Descriptors and the runtime contract.
export { defineOrchestrator, resolveCapabilities, type OrchestratorDefinition, type LegacyOrchestratorDefinition, type OrchestratorRuntimeModule } from "./kit/define-orchestrator.js";
export {
  ORCH_PLUGIN_API,
  defineArtifactStore,
  parseComponentConfig,
  type Orchestrator,
  type OrchestratorPlugin,
  type ArtifactStorePlugin,
  type AnyPlugin,
  type PluginContext,
  type SubmitContext,
  type RunHandle,
} from "./plugins/plugin.js";
export { OrchestratorCapabilitiesSchema, CONSERVATIVE_CAPABILITIES, type OrchestratorCapabilities, type CapabilitiesInput } from "./plugins/capabilities-schema.js";
export { checkCapabilities, type CapabilityCheckOptions } from "./plugins/capabilities.js";
export { componentFactory, createArtifactStore, type ComponentSpec } from "./plugins/stack.js";
export {
  defineContainerRegistry,
  registryHost,
  resolveRegistrySecret,
  type ContainerRegistry,
  type ContainerRegistryPlugin,
  type RegistryCredentials,
} from "./plugins/container-registry.js";
export type { ContainerRegistryComponent } from "./plugins/plugin.js";
export { pluginCandidates } from "./plugins/resolve-plugin.js";
export { withJournalFallbacks } from "./kit/journal-fallback.js";

// The kit: shared work of every flavor.
export { runOnCoreScheduler, type CoreSchedulerContext, type CoreSchedulerRun } from "./kit/run-on-core-scheduler.js";
export { stepCommand, orchestrateCommand, ORCH_ENV, type StepCommand, type StepCommandInput, type OrchestrateCommandInput } from "./kit/step-command.js";
export { findCoreDirectory, entrypointCommand, coreFiles, ENTRYPOINT_NAME, type EntrypointCommandOptions, type CoreFiles } from "./kit/core-entrypoint.js";
export { stepTimeBudget, DEFAULT_TIME_BUDGET_GRACE_SECONDS } from "./kit/time-budget.js";
export { followRun, type FollowRunOptions, type BackendEnd } from "./kit/follow-run.js";
export { settleRun, type SettleRunOptions } from "./kit/settle-run.js";
export { readStepLog, type ReadStepLogOptions } from "./kit/step-log.js";
export { ORCH_LABELS, ORCH_ANNOTATIONS, ORCH_MANAGED_BY, runLabels } from "./kit/labels.js";
export { buildStackImage, IMAGE_BUILT_AT_SUBMIT, type StackImageRequest } from "./kit/project-image.js";
export { orchestrate, runPluginBin, exitCodeFor, type OrchestrateOptions } from "./kit/orchestrate.js";
export { compiledModulePath, useCompiledRoot } from "./kit/compiled-root.js";
export { scheduledRunTask, type ScheduledRunTaskOptions } from "./kit/scheduled-run.js";
export { backendRunId, runIdFromEnvironment } from "./kit/backend-run-id.js";

// Errors, names, hashing.
export { OrchError, isOrchError, toErrorRecord, type OrchErrorCode, type ErrorRecord } from "./errors.js";
export { NAME_PATTERN, RUN_ID_PATTERN, assertValidName, assertValidRunId, canonicalFlavor, displayFlavor } from "./names.js";
export { canonicalJson, hashJson, sha256 } from "./hash.js";
export { closestMatch } from "./suggest.js";

// Settings: resources, memory units, retries, schedules and cron dialects, secrets.
export * from "./settings/index.js";

// Snapshots.
export { SnapshotSchema, SnapshotStepSchema, PipelineSettingsSchema, SNAPSHOT_SCHEMA_VERSION, parseSnapshot, type Snapshot, type SnapshotStep, type PipelineSettings } from "./snapshot/snapshot.js";
export { serializeSnapshot } from "./snapshot/compile.js";

// Runs and the journal.
export type { RunOutcome, StepLauncher, LaunchRequest, LaunchResult } from "./run/execute-run.js";
export { combineObservers, type RunObserver } from "./run/observer.js";
export { EXIT_SHUTDOWN, EXIT_STOPPED, requestRunStop, readStopRequest, clearStopRequest, watchTermination, type StopRequest, type TerminationWatch } from "./run/stop-request.js";
export { DEFAULT_STOP_GRACE_SECONDS, processRunControls, runOwnerGone } from "./run/process-run-controls.js";
export { isProcessAlive } from "./run/process-identity.js";
export { type ArtifactStore, type WriteOptions, type WriteStreamOptions, readJson, writeJson, openReadStream, writeFromStream } from "./store/artifact-store.js";
export { createLocalArtifactStore, type LocalArtifactStoreConfig } from "./store/local-store.js";
export { saveArtifact, loadArtifact, loadOutput } from "./artifacts/artifact-io.js";
export {
  journalKeys,
  readRunRecord,
  writeRunRecord,
  readStepRecord,
  readStepRecords,
  writeStepRecord,
  readCacheEntry,
  writeCacheEntry,
  listRunIds,
  FINISHED_STEP_STATUSES,
  COMPLETED_STEP_STATUSES,
  RunRecordSchema,
  StepRecordSchema,
  OutputRecordSchema,
  ArtifactMetaSchema,
  CacheEntrySchema,
  ErrorRecordSchema,
  type RunRecord,
  type RunStatus,
  type StepRecord,
  type StepStatus,
  type OutputRecord,
  type ArtifactMeta,
  type CacheEntry,
} from "./store/journal.js";
