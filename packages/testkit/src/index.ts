/**
 * @orch/testkit — the conformance suite every orch plugin runs, first-party or third-party.
 *
 * `testOrchestratorPlugin({ plugin, config })` registers one vitest test per check: descriptor and
 * package name, strict config schema, no SDK loaded before `create()`, honest capabilities (dynamic
 * pipelines, schedules, resources, parallelism, logs, stop), a set of standard pipelines (chain,
 * diamond, fan-out/fan-in, retries, a failing step, a cached re-run, a dynamic pipeline) verified
 * against the run journal, and an idempotent `dispose()`. Every check is also a plain async function
 * that throws a `ConformanceError` saying what is wrong.
 *
 * @example
 * // src/index.test.ts of orch-plugin-acme
 * import { testOrchestratorPlugin } from "@orch/testkit";
 * import plugin from "./index.js";
 *
 * testOrchestratorPlugin({ plugin, config: { endpoint: "http://127.0.0.1:9999" } });
 *
 * @module
 */
export { testOrchestratorPlugin } from "./conformance.js";
export {
  ORCHESTRATOR_CHECKS,
  createConformanceContext,
  type ConformanceContext,
  type OrchestratorCheckName,
  type OrchestratorConformanceOptions,
} from "./context.js";
export {
  orchestratorChecks,
  checkDescriptor,
  checkPackage,
  checkConfigSchema,
  checkSdkLazy,
  checkDispose,
  checkChain,
  checkDiamond,
  checkFanOut,
  checkRetries,
  checkFailure,
  checkCache,
  checkDynamic,
  checkResources,
  checkSchedules,
  checkParallel,
  checkLogs,
  checkStatusStop,
  sampleSchedules,
  type ConformanceCheck,
} from "./checks.js";
export { verifyRunJournal, type RunExpectation, type StepExpectation, type VerifiedRun } from "./verify-run.js";
export { probePluginEntry, findSdkLoads, type ProbeRecord, type ProbeResult, type ProbeOptions } from "./sdk-probe.js";
export { testArtifactStore, artifactStoreChecks, type ArtifactStoreConformanceOptions } from "./artifact-store.js";
export { ConformanceError, ConformanceSkip } from "./errors.js";
export { testdir, type TestDir } from "./testdir.js";
