/**
 * @orch/core — typed steps and pipelines, the snapshot compiler, the topological scheduler, the step
 * runner, the local artifact store and the plugin loader.
 *
 * @example
 * import { step, pipeline } from "@orch/core";
 * const double = step({ name: "double" }, (x: number) => x * 2);
 * const p = pipeline({ name: "demo" }, () => { double(21); });
 * const result = await p.run();
 * console.log(await result.load(double)); // 42
 *
 * @module
 */
export { z } from "zod";

export { OrchError, isOrchError, toErrorRecord, type OrchErrorCode, type ErrorRecord } from "./errors.js";
export { NAME_PATTERN, RUN_ID_PATTERN, assertValidName, assertValidRunId, canonicalFlavor, displayFlavor } from "./names.js";
export { canonicalJson, hashJson, sha256 } from "./hash.js";
export { newRunId } from "./ids.js";
export { findProjectRoot } from "./project.js";
export { closestMatch } from "./suggest.js";
export { userFrame } from "./user-frame.js";

export * from "./settings/index.js";

export { step, isStepDefinition, type StepDefinition, type StepOptions, type StepOutputs, type InvocationOptions, type StepHook, type FailureHook } from "./dsl/step.js";
export { StepOutput, type Arg, type StepArgs } from "./dsl/step-output.js";
export { pipeline, isPipelineDefinition, type PipelineDefinition, type PipelineOptions, type DynamicPipelineContext } from "./dsl/pipeline.js";
export { StepSettingsInputSchema, MergedStepSettingsSchema, type StepSettingsInput, type MergedStepSettings } from "./dsl/settings.js";

export { compile, compilePipeline, serializeSnapshot, type CompileOptions, type CompiledPipeline } from "./snapshot/compile.js";
export {
  SnapshotSchema,
  SnapshotStepSchema,
  PipelineSettingsSchema,
  SNAPSHOT_SCHEMA_VERSION,
  parseSnapshot,
  type Snapshot,
  type SnapshotStep,
  type PipelineSettings,
} from "./snapshot/snapshot.js";

export { createScheduler, type Scheduler, type SchedulerOptions, type LaunchOutcome, type NodeState } from "./run/scheduler.js";
export { runStep, type RunStepOptions } from "./run/step-runner.js";
export { executeRun, assertNewRunId, type ExecuteRunOptions, type RunOutcome, type StepLauncher, type LaunchRequest, type LaunchResult } from "./run/execute-run.js";
export { getStepContext, type StepContext, type StepLogger } from "./run/step-context.js";
export { setStepOutputRoute, type StepOutputRoute } from "./run/output-capture.js";
export { combineObservers, type RunObserver } from "./run/observer.js";
export { createRunResult, type RunOptions, type RunResult, type StepRef } from "./run/run-pipeline.js";
export { computeCacheKey } from "./run/cache-key.js";
export { processRunControls, runOwnerGone, DEFAULT_STOP_GRACE_SECONDS } from "./run/process-run-controls.js";
export { EXIT_SHUTDOWN, EXIT_STOPPED, requestRunStop, readStopRequest, clearStopRequest, watchTermination, type StopRequest, type TerminationWatch } from "./entrypoint/stop-request.js";
export { acquireRunOwnership, type OwnerLock, type RunOwnership } from "./run/run-owner.js";
export { processStartTime, isProcessAlive } from "./run/process-identity.js";
export { importUserModule, loadStepDefinitions, loadPipelineDefinition, compiledModulePath } from "./run/load-source.js";

export { type ArtifactStore, type WriteStreamOptions, readJson, writeJson, openReadStream, writeFromStream } from "./store/artifact-store.js";
export { createLocalArtifactStore, localArtifactStoreConfigSchema, type LocalArtifactStoreConfig } from "./store/local-store.js";
export {
  journalKeys,
  readRunRecord,
  writeRunRecord,
  readStepRecord,
  readStepRecords,
  writeStepRecord,
  listRunIds,
  FINISHED_STEP_STATUSES,
  COMPLETED_STEP_STATUSES,
  type RunRecord,
  type RunStatus,
  type StepRecord,
  type StepStatus,
  type OutputRecord,
  type ArtifactMeta,
  type CacheEntry,
} from "./store/journal.js";
export {
  defineMaterializer,
  defineClassMaterializer,
  registerMaterializer,
  materializerById,
  jsonMaterializer,
  bytesMaterializer,
  bufferMaterializer,
  v8Materializer,
  streamMaterializer,
  type Materializer,
} from "./artifacts/materializers.js";
export { artifactFile, artifactStream, ArtifactSource, StreamedArtifact, type ByteSource, type Loaded } from "./artifacts/streamed.js";
export { saveArtifact, loadArtifact, loadOutput, checkArtifact, readArtifactMeta, artifactExists, type ArtifactCheck } from "./artifacts/artifact-io.js";

export { defineOrchestrator, type OrchestratorDefinition, type OrchestratorRuntimeModule } from "./kit/define-orchestrator.js";
export { OrchestratorCapabilitiesSchema, type OrchestratorCapabilities } from "./plugins/capabilities-schema.js";
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
export { resolvePlugin, registerPlugin, pluginCandidates, FIRST_PARTY_FLAVORS, type PluginKind } from "./plugins/resolve-plugin.js";
export { detectPackageManager, installCommand, type PackageManager } from "./plugins/package-manager.js";
export { checkCapabilities, type CapabilityCheckOptions } from "./plugins/capabilities.js";
export {
  defineStack,
  defaultStack,
  activateStack,
  resolveStack,
  setStackResolver,
  componentFactory,
  localArtifactStore,
  createArtifactStore,
  type StackDefinition,
  type ComponentSpec,
  type ActiveStack,
} from "./plugins/stack.js";
export { createClient, type OrchClient } from "./client.js";
