/**
 * @orch/core — what pipeline authors use: typed steps and pipelines, `run`, settings, errors,
 * materializers and the client. Hosts (the orch CLI) import `@orch/core/host`; plugin authors
 * `@orch/core/plugin`. (Plugin-author names still here are moving to `@orch/core/plugin`.)
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
import { setPipelineRunner } from "./dsl/pipeline.js";
import { runPipeline } from "./run/run-pipeline.js";

// `pipeline.run()` is sugar for runPipeline(), which activates a stack: a layer the DSL does not import.
// The entry connects the two once (this is why package.json lists this file under `sideEffects`).
setPipelineRunner(runPipeline);

export { z } from "zod";

export { OrchError, isOrchError, type OrchErrorCode, type ErrorRecord } from "./errors.js";
export { canonicalFlavor, displayFlavor } from "./flavors.js";
export { sha256 } from "./hash.js";
export { newRunId } from "./ids.js";

export * from "./settings/index.js";

export { step, type StepDefinition, type StepOptions, type StepOutputs, type InvocationOptions, type StepHook, type FailureHook } from "./dsl/step.js";
export { StepOutput, type Arg, type StepArgs } from "./dsl/step-output.js";
export { pipeline, type PipelineDefinition, type PipelineOptions, type DynamicPipelineContext } from "./dsl/pipeline.js";
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

export { executeRun, type ExecuteRunOptions, type RunOutcome, type StepLauncher, type LaunchRequest, type LaunchResult } from "./run/execute-run.js";
export { getStepContext, type StepContext, type StepLogger } from "./run/step-context.js";
export { type RunObserver } from "./run/observer.js";
export { type RunOptions, type RunResult, type StepRef } from "./run/run-pipeline.js";
export { processRunControls } from "./run/process-run-controls.js";
export { EXIT_SHUTDOWN, EXIT_STOPPED, requestRunStop, clearStopRequest, watchTermination, type StopRequest, type TerminationWatch } from "./run/stop-request.js";
export { loadPipelineDefinition, compiledModulePath } from "./run/load-source.js";

export { type ArtifactStore, type WriteStreamOptions, readJson, writeJson, openReadStream, writeFromStream } from "./store/artifact-store.js";
export { createLocalArtifactStore, type LocalArtifactStoreConfig } from "./store/local-store.js";
export {
  journalKeys,
  readRunRecord,
  writeRunRecord,
  readStepRecord,
  readStepRecords,
  writeStepRecord,
  FINISHED_STEP_STATUSES,
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
  jsonMaterializer,
  bytesMaterializer,
  bufferMaterializer,
  v8Materializer,
  streamMaterializer,
  type Materializer,
} from "./artifacts/materializers.js";
export { artifactFile, artifactStream, ArtifactSource, StreamedArtifact, type ByteSource, type Loaded } from "./artifacts/streamed.js";
export { saveArtifact, loadArtifact, loadOutput } from "./artifacts/artifact-io.js";

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
export { resolvePlugin } from "./plugins/resolve-plugin.js";
export { pluginCandidates } from "./flavors.js";
export { checkCapabilities, type CapabilityCheckOptions } from "./plugins/capabilities.js";
export {
  defineStack,
  componentFactory,
  localArtifactStore,
  createArtifactStore,
  type StackDefinition,
  type ComponentSpec,
  type ActiveStack,
} from "./plugins/stack.js";
export { createClient, type OrchClient } from "./client.js";
