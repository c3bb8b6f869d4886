/**
 * `@orch/core/host`: what a host needs — a program that runs pipelines for users, like the `orch` CLI,
 * a scheduler or a notebook integration — beyond the pipeline-author API of `@orch/core`: resolving
 * stacks and plugins from a project, loading the user's modules, compiling snapshots, reading and
 * writing the run journal, schedules, package-manager detection and "did you mean" suggestions.
 *
 * @example
 * import { setStackResolver, activateStack, loadPipelineDefinition } from "@orch/core/host";
 * setStackResolver(async (name) => myStacks.get(name ?? "default"));
 * const stack = await activateStack(await resolveStack("prod"), projectRoot);
 *
 * @module
 */

// The cheap part (Node built-ins only), also importable on its own as `@orch/core/host/light`.
export * from "./host-light.js";

// Errors a host catches and prints (also in `@orch/core`).
export { OrchError, isOrchError, type OrchErrorCode } from "./errors.js";

// Names and ids a host validates before they reach core.
export { NAME_PATTERN, RUN_ID_PATTERN, assertValidName, assertValidRunId } from "./names.js";
export { newRunId } from "./ids.js";
export { findProjectRoot } from "./project.js";
export { userFrame } from "./user-frame.js";

// Stacks and plugins.
export { resolvePlugin, registerPlugin, type PluginKind } from "./plugins/resolve-plugin.js";
export { parseComponentConfig } from "./plugins/plugin.js";
export { activateStack, activateContainerRegistry, resolveStack, setStackResolver, defaultStack, createArtifactStore, type ActiveStack } from "./plugins/stack.js";
export { BUILT_IN_REGISTRIES } from "./plugins/builtin-registries.js";
export { localArtifactStoreConfigSchema } from "./store/local-store.js";
export { redactSecrets } from "./settings/secret.js";

// The user's code and its snapshot.
export { isPipelineDefinition } from "./dsl/pipeline.js";
export { importUserModule, loadStepDefinitions, loadPipelineDefinition } from "./run/load-source.js";
export { compilePipeline, serializeSnapshot } from "./snapshot/compile.js";
export { parseSnapshot } from "./snapshot/snapshot.js";
export { runPipeline } from "./run/run-pipeline.js";

// Schedules (`orch schedule serve`).
export { nextCronTimes } from "./settings/cron.js";
export { scheduleKind, assertScheduleHasFuture, scheduleIsOver } from "./settings/schedule.js";

// The run journal, for listing and reconciling runs.
export { journalKeys, listRunIds, readRunRecord, writeRunRecord, readStepRecords } from "./store/journal.js";
