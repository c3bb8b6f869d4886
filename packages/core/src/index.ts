/**
 * @orch/core — what pipeline authors use: typed steps and pipelines, `run`, settings, errors,
 * materializers and the client. Hosts (the orch CLI) import `@orch/core/host`; plugin authors
 * `@orch/core/plugin`. Every name here is one a pipeline author writes or reads.
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

// Errors every call can throw.
export { OrchError, isOrchError, type OrchErrorCode, type ErrorRecord } from "./errors.js";

// Steps and pipelines.
export { step, type StepDefinition, type StepOptions, type StepOutputs, type InvocationOptions, type StepHook, type FailureHook } from "./dsl/step.js";
export { StepOutput, type Arg, type StepArgs } from "./dsl/step-output.js";
export { pipeline, type PipelineDefinition, type PipelineOptions, type DynamicPipelineContext } from "./dsl/pipeline.js";
export type { StepSettingsInput } from "./dsl/settings.js";
export { getStepContext, type StepContext, type StepLogger } from "./run/step-context.js";

// Settings written on steps and pipelines.
export type { ResourceSettings, RetryPolicy, RetryPolicyInput, Schedule, ScheduleInput, MemoryQuantity } from "./settings/index.js";
export { secret } from "./settings/secret.js";

// Running, and reading what a run produced.
export type { RunOptions, RunResult, StepRef } from "./run/run-pipeline.js";
export type { RunObserver } from "./run/observer.js";
export { compile, type CompileOptions, type CompiledPipeline } from "./snapshot/compile.js";
export type { Snapshot, SnapshotStep } from "./snapshot/snapshot.js";
export type { RunRecord, RunStatus, StepRecord, StepStatus, OutputRecord, ArtifactMeta } from "./store/journal.js";
export { createClient, type OrchClient } from "./client.js";

// Values: how outputs are saved and loaded.
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

// Stacks written in code.
export { defineStack, localArtifactStore, type StackDefinition, type ComponentSpec } from "./plugins/stack.js";
