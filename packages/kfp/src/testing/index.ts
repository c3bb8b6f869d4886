/**
 * @orch/kfp/testing — for tests of KFP-based flavors: a validator of KFP v2 IR built from KFP's
 * published protos, and an executor that runs an IR's tasks (its container commands, in dependency
 * order, with the env it declares) as child processes or Docker containers.
 *
 * @module
 */
export { createKfpValidator, parseIrText, type KfpIr, type KfpValidator } from "./validate.js";
export { findKfpConformance, KFP_CONFORMANCE_MISSING } from "./conformance.js";
export { runPipelineSpec, type IrExecutorOptions, type IrRunResult, type IrTaskEvent, type IrTaskState } from "./ir-executor.js";
