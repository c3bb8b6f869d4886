import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { compile, isOrchError, z, type PipelineDefinition, type RunResult, type Schedule } from "@orch/core";
import { ORCH_PLUGIN_API, ScheduleSchema, canonicalFlavor, checkCapabilities, displayFlavor, parseComponentConfig, readRunRecord, type OrchestratorCapabilities } from "@orch/core/plugin";
// Core's naming module: the same rules core resolves plugins by.
import { FLAVOR_ID_PATTERN, isPackageForFlavor, pluginCandidates } from "@orch/core/host/light";
import { OrchestratorCapabilitiesSchema } from "@orch/core/plugin";
import { ConformanceError, ConformanceSkip, describeError } from "./errors.js";
import { readPackageJson, resolveEntry, sdkModulesOf, type ConformanceContext, type OrchestratorCheckName } from "./context.js";
import { displayModule, findSdkLoads, probePluginEntry } from "./sdk-probe.js";
import { verifyRunJournal, type RunExpectation, type VerifiedRun } from "./verify-run.js";
import {
  FAILURE_MESSAGE,
  LOG_MARKER,
  RESOURCE_REQUEST,
  WIDE_FAN_OUT,
  chain,
  diamond,
  dynamicFanOut,
  failing,
  parallelPair,
  retrying,
  stoppable,
  wide,
  withResources,
  type ObservedLimits,
} from "./fixtures/pipelines.js";

/** A conformance check: resolves when the plugin conforms, throws a {@link ConformanceError} saying what is wrong otherwise. */
export type ConformanceCheck = (context: ConformanceContext) => Promise<void>;

const failer = (check: OrchestratorCheckName, context: ConformanceContext) => (message: string, cause?: unknown): never => {
  throw new ConformanceError(check, context.flavor, message, cause === undefined ? undefined : { cause });
};

/** Ends a check that has nothing to verify for this plugin: the suite reports it skipped, with the reason. */
const skipper = (check: OrchestratorCheckName, context: ConformanceContext) => (reason: string): never => {
  throw new ConformanceSkip(check, context.flavor, reason);
};

/** The plugin is declared with `defineOrchestrator`: kind, API version, canonical flavor, frozen, complete capabilities. */
export const checkDescriptor: ConformanceCheck = async (context) => {
  const fail = failer("descriptor", context);
  const plugin = context.plugin as unknown as Record<string, unknown>;
  if (plugin.kind !== "orchestrator") fail(`plugin.kind is ${JSON.stringify(plugin.kind)}, expected "orchestrator". Declare the plugin with defineOrchestrator({...}).`);
  if (plugin.apiVersion !== ORCH_PLUGIN_API) {
    fail(`the plugin was built for orch plugin API ${String(plugin.apiVersion)}, this @orch/core speaks API ${ORCH_PLUGIN_API}. Rebuild it against a matching @orch/core (see docs/plugins.md, "API version policy").`);
  }
  const flavor = String(plugin.flavor);
  let canonical: string | undefined;
  try {
    canonical = canonicalFlavor(flavor);
  } catch {
    // reported below
  }
  if (canonical !== flavor || !FLAVOR_ID_PATTERN.test(flavor)) {
    fail(`flavor ${JSON.stringify(flavor)} is not a canonical flavor id: use lower-case kebab-case such as "${(canonical ?? flavor).toLowerCase().replace(/[^a-z0-9]+/g, "-")}" (users may still type local_docker for local-docker).`);
  }
  if (!Object.isFrozen(context.plugin)) fail("the plugin object is not frozen. Declare it with defineOrchestrator({...}), which stamps and freezes it.");
  if (typeof plugin.create !== "function") fail("the plugin has no create(config, context) function.");
  const schema = plugin.configSchema as { safeParse?: unknown } | undefined;
  if (typeof schema?.safeParse !== "function") fail("configSchema is not a zod schema.");
  if (plugin.settingsSchema !== undefined && typeof (plugin.settingsSchema as { safeParse?: unknown }).safeParse !== "function") fail("settingsSchema is not a zod schema.");
  const capabilities = OrchestratorCapabilitiesSchema.safeParse(plugin.capabilities);
  if (!capabilities.success) {
    const issue = capabilities.error.issues[0]!;
    fail(`capabilities.${issue.path.join(".") || "(root)"}: ${issue.message}. Declare the plugin with defineOrchestrator (see OrchestratorCapabilitiesSchema in @orch/core/plugin): the suite checks each capability.`);
  }
};

/** The package name is one core resolves the flavor from, with the plugin keywords and core as a peer. */
export const checkPackage: ConformanceCheck = async (context) => {
  const fail = failer("package", context);
  const pkg = readPackageJson(context.packageRoot);
  if (!pkg) return fail(`there is no package.json in ${context.packageRoot}; pass packageRoot (the folder of the plugin's package.json).`);
  const flavor = context.flavor;
  let names: string[];
  try {
    names = pluginCandidates(flavor);
  } catch {
    return fail(`flavor ${JSON.stringify(flavor)} is not a valid flavor id, so no package name can provide it.`);
  }
  if (!pkg.name || !isPackageForFlavor(pkg.name, flavor)) {
    fail(`package "${pkg.name}" provides flavor "${flavor}", but core resolves that flavor from ${names.join(" or ")} (or @scope/orch-plugin-${flavor}). Rename the package (or the flavor) so that \`--flavor=${flavor}\` finds it.`);
  }
  const keywords = pkg.keywords ?? [];
  const missing = ["orch-plugin", `orch-flavor-${flavor}`].filter((k) => !keywords.includes(k));
  if (missing.length > 0) fail(`package.json keywords lack ${missing.map((k) => `"${k}"`).join(" and ")}; tools find and verify plugins by them.`);
  if (pkg.dependencies?.["@orch/core"]) {
    fail('@orch/core is in "dependencies": a second copy of core would not share the user\'s registries. Make it a peerDependency (">=0.1.0 <1.0.0") and a devDependency.');
  }
  if (!pkg.peerDependencies?.["@orch/core"]) fail('@orch/core is not in "peerDependencies"; declare the core range the plugin works with (e.g. ">=0.1.0 <1.0.0").');
};

/** The config schema is strict, applies defaults, documents every key and converts to JSON Schema. */
export const checkConfigSchema: ConformanceCheck = async (context) => {
  const fail = failer("config-schema", context);
  const { plugin } = context;
  let parsed: Record<string, unknown>;
  try {
    parsed = parseComponentConfig(plugin, context.config) as Record<string, unknown>;
  } catch (error) {
    return fail(`the config passed to the suite is not valid for the plugin: ${describeError(error)}`);
  }
  const unknownKey = "orchTestkitUnknownKey";
  const withUnknown = plugin.configSchema.safeParse({ ...context.config, [unknownKey]: true });
  if (withUnknown.success) {
    fail(`configSchema accepts the unknown key "${unknownKey}". Make it strict (z.object({...}).strict()) so a typo in a stack is an error instead of being silently ignored.`);
  }
  try {
    parseComponentConfig(plugin, { ...context.config, [unknownKey]: true });
  } catch (error) {
    if (!isOrchError(error) || error.code !== "E_CONFIG_INVALID" || !error.message.includes(unknownKey)) {
      fail(`an unknown config key should give E_CONFIG_INVALID naming the key, got: ${describeError(error)}`);
    }
  }
  const shape = (plugin.configSchema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (shape) {
    const undocumented = Object.entries(shape)
      .filter(([, field]) => !hasDescription(field))
      .map(([key]) => key);
    if (undocumented.length > 0) fail(`config key(s) ${undocumented.join(", ")} have no .describe(); the CLI and docs build flags and tables from the descriptions.`);
    for (const [key, field] of Object.entries(shape)) {
      const isDefault = (field as unknown as { _zod?: { def?: { type?: string } } })._zod?.def?.type === "default";
      if (isDefault && parsed[key] === undefined && !(key in context.config)) fail(`config key "${key}" declares a default, but parsing the config did not apply it.`);
    }
  }
  try {
    z.toJSONSchema(plugin.configSchema, { io: "input", unrepresentable: "any" });
  } catch (error) {
    fail(`configSchema cannot be converted to JSON Schema (the CLI and docs need that): ${describeError(error)}`);
  }
};

/** A description on the field or on what it wraps (`.describe("…").default(1)` keeps it on the inner schema). */
function hasDescription(field: z.ZodType): boolean {
  let current: unknown = field;
  for (let depth = 0; depth < 5 && current; depth++) {
    if ((current as z.ZodType).description) return true;
    current = (current as { _zod?: { def?: { innerType?: unknown } } })._zod?.def?.innerType;
  }
  return false;
}

/** Importing the plugin entry (what validating a stack does) loads none of the SDK modules; create() is where they load. */
export const checkSdkLazy: ConformanceCheck = async (context) => {
  const fail = failer("sdk-lazy", context);
  const entry = resolveEntry(context);
  if (!entry) return fail(`cannot find the plugin's entry module from ${context.packageRoot}; pass \`entry\` (the file that default-exports the plugin).`);
  let result;
  try {
    result = await probePluginEntry({ entry, cwd: context.packageRoot });
  } catch (error) {
    return fail(describeError(error), error);
  }
  if (result.plugin.kind !== "orchestrator" || result.plugin.flavor !== context.flavor) {
    fail(`${entry} does not default-export the orchestrator plugin "${context.flavor}" (found kind ${result.plugin.kind}, flavor ${result.plugin.flavor}); core loads plugins by their default export.`);
  }
  for (const sdk of sdkModulesOf(context)) {
    const loads = findSdkLoads(result.records, sdk);
    if (loads.length > 0) {
      const by = [...new Set(loads.map((l) => displayModule(l.parent, context.packageRoot)))].join(", ");
      fail(`importing the plugin entry loads its SDK "${sdk}" before create() (imported by ${by}). Validating a stack or listing flavors must stay cheap: import the SDK only in the runtime module (defineOrchestrator({ runtime: () => import("./runtime.js") })), and keep "${sdk}" and the runtime module out of the entry's static imports.`);
    }
  }
};

/** dispose() may be called twice, and on a runtime that never submitted anything. */
export const checkDispose: ConformanceCheck = async (context) => {
  const fail = failer("dispose", context);
  const { orchestrator } = await context.createOrchestrator();
  if (orchestrator.flavor !== context.flavor) fail(`create() returned a runtime with flavor "${orchestrator.flavor}", expected "${context.flavor}".`);
  if (typeof orchestrator.submit !== "function") fail("create() returned a runtime without submit(snapshot, context).");
  if (!orchestrator.dispose) return;
  for (const call of ["first", "second"]) {
    try {
      await orchestrator.dispose();
    } catch (error) {
      fail(`dispose() threw when called a ${call} time: ${describeError(error)}. Make it idempotent (clear the client, then close it).`, error);
    }
  }
};

async function runAndVerify(
  context: ConformanceContext,
  check: OrchestratorCheckName,
  pipeline: PipelineDefinition,
  expected: RunExpectation,
  options: { params?: Record<string, unknown>; storeDir?: string; what?: string } = {},
): Promise<VerifiedRun & { result: RunResult; storeDir: string }> {
  const fail = failer(check, context);
  let outcome: { result: RunResult; storeDir: string };
  try {
    outcome = await context.run(pipeline, options);
  } catch (error) {
    return fail(`${options.what ?? `running pipeline "${pipeline.name}"`} threw instead of returning a run: ${describeError(error)}`, error);
  }
  const verified = await verifyRunJournal(outcome.result.artifactStore, outcome.result.runId, expected, { check, flavor: context.flavor, waitMs: context.options.timeout ?? 60_000 });
  if (outcome.result.status !== "running" && outcome.result.status !== verified.run.status) {
    fail(`the run handle reported "${outcome.result.status}" but run.json says "${verified.run.status}"; RunHandle.wait() must return the journal's records.`);
  }
  return { ...verified, ...outcome };
}

/** source → add_one → double runs in order with the right values. */
export const checkChain: ConformanceCheck = async (context) => {
  await runAndVerify(context, "chain", chain, {
    status: "succeeded",
    steps: { tk_source: { status: "succeeded", value: 3 }, tk_add_one: { status: "succeeded", value: 4 }, tk_double: { status: "succeeded", value: 8 } },
  });
};

/** A diamond: both branches after the source, the join after both branches. */
export const checkDiamond: ConformanceCheck = async (context) => {
  await runAndVerify(context, "diamond", diamond, {
    status: "succeeded",
    steps: {
      tk_source: { status: "succeeded", value: 5 },
      tk_add_one: { status: "succeeded", value: 6 },
      tk_double: { status: "succeeded", value: 10 },
      tk_sum: { status: "succeeded", value: 16 },
    },
  });
};

/** A wide fan-out and fan-in. */
export const checkFanOut: ConformanceCheck = async (context) => {
  const steps: RunExpectation["steps"] = { tk_source: { status: "succeeded", value: 2 } };
  for (let factor = 1; factor <= WIDE_FAN_OUT; factor++) steps[factor === 1 ? "tk_multiply" : `tk_multiply_${factor}`] = { status: "succeeded", value: 2 * factor };
  steps.tk_sum = { status: "succeeded", value: 2 * ((WIDE_FAN_OUT * (WIDE_FAN_OUT + 1)) / 2) };
  await runAndVerify(context, "fan-out", wide, { status: "succeeded", steps });
};

/** A step that fails twice succeeds on its third execution under `retry: { maxRetries: 2 }`. */
export const checkRetries: ConformanceCheck = async (context) => {
  const fail = failer("retries", context);
  const dir = await context.tempDir("retries");
  const runner = context.plugin.capabilities.retries === "runner";
  const { result } = await runAndVerify(
    context,
    "retries",
    retrying,
    {
      status: "succeeded",
      steps: { tk_flaky: { status: "succeeded", value: 3, ...(runner ? { attempts: 3 } : {}) }, tk_add_one: { status: "succeeded", value: 4 } },
    },
    { params: { dir } },
  );
  const executions = (await readFile(join(dir, `flaky-${result.runId}.count`), "utf8").catch(() => "")).length;
  if (executions !== 3) fail(`tk_flaky ran ${executions} time(s); with maxRetries 2 it should run exactly 3 times (2 failures, then success).`);
};

/** A step that keeps failing fails the run; what depends on it is skipped. */
export const checkFailure: ConformanceCheck = async (context) => {
  const runner = context.plugin.capabilities.retries === "runner";
  await runAndVerify(context, "failure", failing, {
    status: "failed",
    steps: {
      tk_source: { status: "succeeded", value: 1 },
      tk_boom: { status: "failed", errorIncludes: FAILURE_MESSAGE, ...(runner ? { attempts: 2 } : {}) },
      tk_add_one: { status: "skipped" },
    },
  });
};

/** Running the same pipeline again in the same artifact store reuses every output ("cached"). */
export const checkCache: ConformanceCheck = async (context) => {
  const fail = failer("cache", context);
  const values = { tk_source: 3, tk_add_one: 4, tk_double: 8 };
  const succeeded = Object.fromEntries(Object.entries(values).map(([id, value]) => [id, { status: "succeeded" as const, value }]));
  const first = await runAndVerify(context, "cache", chain, { status: "succeeded", steps: succeeded });
  const cached = Object.fromEntries(Object.entries(values).map(([id, value]) => [id, { status: "cached" as const, value }]));
  const second = await runAndVerify(context, "cache", chain, { status: "succeeded", steps: cached }, { storeDir: first.storeDir, what: "re-running tk_chain in the same artifact store" });
  if (second.result.runId === first.result.runId) fail("the re-run got the same run id as the first run; every submit needs a new run id (SubmitContext.runId).");
  for (const [id, record] of second.steps) {
    if (record.cachedFrom !== first.result.runId) fail(`cached step "${id}" records cachedFrom ${JSON.stringify(record.cachedFrom)}, expected the first run ${first.result.runId}.`);
    if (record.outputs.output?.artifactId !== first.steps.get(id)?.outputs.output?.artifactId) fail(`cached step "${id}" does not point at the first run's artifact.`);
  }
};

function expectUnsupported(fail: (message: string, cause?: unknown) => never, what: string, capability: string, flavor: string) {
  return (error: unknown): void => {
    if (!isOrchError(error) || error.code !== "E_CAPABILITY_UNSUPPORTED") {
      fail(`${what} should be refused with E_CAPABILITY_UNSUPPORTED because ${capability}, got: ${describeError(error)}`, error);
    }
    // named as users type it (local_docker) or by its canonical id (local-docker)
    const message = (error as Error).message;
    if (!message.includes(flavor) && !message.includes(displayFlavor(flavor))) fail(`the refusal of ${what} should name the flavor "${displayFlavor(flavor)}": ${message}`);
  };
}

/** Dynamic pipelines run (steps discovered at run time) when declared, and are refused with a clear error otherwise. */
export const checkDynamic: ConformanceCheck = async (context) => {
  const fail = failer("dynamic", context);
  if (!context.plugin.capabilities.dynamic) {
    let ran = false;
    await context.run(dynamicFanOut).then(() => (ran = true), expectUnsupported(fail, "a dynamic pipeline", "capabilities.dynamic is false", context.flavor));
    if (ran) fail("capabilities.dynamic is false, yet a dynamic pipeline was submitted and ran; it must be refused before submit.");
    return;
  }
  try {
    await runAndVerify(context, "dynamic", dynamicFanOut, {
      status: "succeeded",
      steps: {
        tk_source: { status: "succeeded", value: 3 },
        tk_source_2: { status: "succeeded", value: 10 },
        tk_multiply: { status: "succeeded", value: 10 },
        tk_multiply_2: { status: "succeeded", value: 20 },
        tk_multiply_3: { status: "succeeded", value: 30 },
        tk_sum: { status: "succeeded", value: 60 },
        tk_add_one: { status: "succeeded", value: 61 },
      },
    });
  } catch (error) {
    fail(`capabilities.dynamic is true, but the dynamic pipeline tk_dynamic did not run correctly. Run it (runOnCoreScheduler from @orch/core/plugin passes SubmitContext.pipeline on) or declare dynamic: false. ${describeError(error)}`, error);
  }
};

/** A step with resources runs where they can be honoured, and is refused where capabilities.resources is "none". */
export const checkResources: ConformanceCheck = async (context) => {
  const fail = failer("resources", context);
  if (context.plugin.capabilities.resources === "none") {
    let ran = false;
    await context.run(withResources).then(() => (ran = true), expectUnsupported(fail, "a step with resource settings", 'capabilities.resources is "none"', context.flavor));
    if (ran) fail('capabilities.resources is "none", yet a step with resources ran; it must be refused.');
    return;
  }
  const { result } = await runAndVerify(context, "resources", withResources, {
    status: "succeeded",
    steps: { tk_source: { status: "succeeded", value: 7 }, tk_add_one: { status: "succeeded", value: 8 }, tk_limits: { status: "succeeded" } },
  });
  if (context.plugin.capabilities.resources !== "exact") return;
  // "exact": the step must run under the limits it asked for, as its own cgroup shows them.
  const observed = (await result.load("tk_limits")) as ObservedLimits;
  const problems: string[] = [];
  if (observed.memoryBytes !== RESOURCE_REQUEST.memoryBytes) problems.push(`memory limit ${observed.memoryBytes ?? "none"} (asked for ${RESOURCE_REQUEST.memory} = ${RESOURCE_REQUEST.memoryBytes} bytes)`);
  if (observed.cpus === null || Math.abs(observed.cpus - RESOURCE_REQUEST.cpuCount) > 0.01) problems.push(`CPU limit ${observed.cpus ?? "none"} (asked for ${RESOURCE_REQUEST.cpuCount})`);
  if (problems.length > 0) {
    fail(`capabilities.resources is "exact", but step tk_limits ran with ${problems.join(" and ")}. Enforce the step's resources (container memory and CPU limits), or declare "mapped" or "recorded". If the test backend cannot enforce limits (steps run as local processes), skip this check with that reason.`);
  }
};

/** One schedule of each kind, valid today and for years. */
export function sampleSchedules(): Record<"cron" | "interval" | "once", Schedule> {
  const nextYear = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1, 2, 0, 0)).toISOString();
  return {
    cron: ScheduleSchema.parse({ cron: "0 2 * * *" }),
    interval: ScheduleSchema.parse({ intervalSeconds: 3600 }),
    once: ScheduleSchema.parse({ runOnceAt: nextYear }),
  };
}

/**
 * Schedules: a kind the plugin does not declare is refused with E_CAPABILITY_UNSUPPORTED; with
 * `schedules.manage` the runtime creates the schedule in the backend (schedule() returns an id that
 * listSchedules() shows) and deletes it again.
 */
export const checkSchedules: ConformanceCheck = async (context) => {
  const fail = failer("schedules", context);
  const can: OrchestratorCapabilities["schedules"] = context.plugin.capabilities.schedules;
  const snapshot = compile(chain, {}, { projectRoot: context.projectRoot });
  const checkOptions = { artifactStoreRemote: true, hasContainerRegistry: true };
  const supported = (Object.entries(sampleSchedules()) as ["cron" | "interval" | "once", Schedule][]).filter(([kind, schedule]) => {
    if (can[kind]) {
      try {
        checkCapabilities(context.plugin, snapshot, { ...checkOptions, schedule });
      } catch (error) {
        fail(`capabilities.schedules.${kind} is true, but core refused a ${kind} schedule: ${describeError(error)}`);
      }
      return true;
    }
    let refused = false;
    try {
      checkCapabilities(context.plugin, snapshot, { ...checkOptions, schedule });
    } catch (error) {
      expectUnsupported(fail, `a ${kind} schedule`, `capabilities.schedules.${kind} is false`, context.flavor)(error);
      refused = true;
    }
    if (!refused) fail(`a ${kind} schedule was not refused although capabilities.schedules.${kind} is false.`);
    return false;
  });

  const { orchestrator } = await context.createOrchestrator();
  try {
    if (!can.manage) {
      if (orchestrator.schedule) fail("the runtime implements schedule() but capabilities.schedules.manage is false, so core never calls it. Declare manage: true, or remove schedule().");
      return;
    }
    if (supported.length === 0) fail("capabilities.schedules.manage is true, but no schedule kind (cron, interval, once) is declared supported.");
    for (const method of ["schedule", "deleteSchedule", "listSchedules"] as const) {
      if (typeof orchestrator[method] !== "function") {
        fail(`capabilities.schedules.manage is true, but the runtime has no ${method}(); a flavor that keeps schedules in its backend must create, list and delete them (or declare manage: false and let orch's scheduler start runs).`);
      }
    }
    for (const [kind, schedule] of supported) {
      let id: unknown;
      // As `orch pipeline run` does for a scheduled pipeline: the schedule is in the snapshot and passed along.
      const scheduled = { ...snapshot, pipeline: { ...snapshot.pipeline, schedule } };
      try {
        id = (await orchestrator.schedule!(scheduled, schedule))?.id;
      } catch (error) {
        fail(`capabilities.schedules.${kind} is true, but schedule() failed for ${JSON.stringify(schedule)}: ${describeError(error)}`, error);
      }
      if (typeof id !== "string" || id.length === 0) fail(`schedule() for a ${kind} schedule returned no id (got ${JSON.stringify(id)}); it must return { id } of the schedule it created.`);
      const listed = await orchestrator.listSchedules!();
      const entry = listed.find((s) => s.id === id);
      if (!entry) {
        fail(`schedule() returned id "${String(id)}" for a ${kind} schedule, but listSchedules() does not show it (listed: ${listed.map((s) => s.id).join(", ") || "none"}); the schedule was silently dropped.`);
      }
      if (entry!.pipeline !== snapshot.pipeline.name) fail(`listSchedules() shows schedule "${String(id)}" for pipeline "${entry!.pipeline}", expected "${snapshot.pipeline.name}".`);
      await orchestrator.deleteSchedule!(id as string);
      if ((await orchestrator.listSchedules!()).some((s) => s.id === id)) fail(`deleteSchedule("${String(id)}") did not remove the schedule; listSchedules() still shows it.`);
    }
  } finally {
    await orchestrator.dispose?.();
  }
};

/** With capabilities.parallel, independent steps run at the same time (two steps that wait for each other). */
export const checkParallel: ConformanceCheck = async (context) => {
  const fail = failer("parallel", context);
  if (!context.plugin.capabilities.parallel) skipper("parallel", context)("capabilities.parallel is false: the plugin runs steps one at a time, so there is no parallelism to check.");
  const dir = await context.tempDir("parallel");
  try {
    await runAndVerify(
      context,
      "parallel",
      parallelPair,
      { status: "succeeded", steps: { tk_barrier_left: { status: "succeeded", value: "left" }, tk_barrier_right: { status: "succeeded", value: "right" } } },
      { params: { dir, waitSeconds: context.options.parallelWaitSeconds ?? 20 } },
    );
  } catch (error) {
    fail(`capabilities.parallel is true, but two independent steps did not run at the same time (check the plugin's parallelism setting, or declare parallel: false). ${describeError(error)}`, error);
  }
};

/** With capabilities.logs, logs() yields what a step logged. */
export const checkLogs: ConformanceCheck = async (context) => {
  const fail = failer("logs", context);
  if (!context.plugin.capabilities.logs) skipper("logs", context)("capabilities.logs is false: the plugin returns no step logs, so there are none to check.");
  const { result, storeDir } = await context.run(chain);
  const store = await context.openStore(storeDir);
  const orchestrator = await context.plugin.create(parseComponentConfig(context.plugin, context.config), { projectRoot: context.projectRoot, stackName: "conformance", artifactStore: store });
  try {
    if (typeof orchestrator.logs !== "function") return fail("capabilities.logs is true, but the runtime has no logs(runId, stepId).");
    const lines: string[] = [];
    for await (const line of orchestrator.logs(result.runId, "tk_double")) lines.push(line);
    if (!lines.some((line) => line.includes(`${LOG_MARKER} tk_double ran`))) {
      fail(`logs(runId, "tk_double") did not yield the line the step logged ("${LOG_MARKER} tk_double ran"); got ${lines.length} line(s).`);
    }
  } finally {
    await orchestrator.dispose?.();
  }
};

/**
 * status() reports a finished run; with capabilities.stop, stop() exists, leaves a finished run alone,
 * and stops a running one (run.json "stopped" before its step could finish).
 */
export const checkStatusStop: ConformanceCheck = async (context) => {
  const fail = failer("status-stop", context);
  const { result, storeDir } = await context.run(chain);
  const store = await context.openStore(storeDir);
  const orchestrator = await context.plugin.create(parseComponentConfig(context.plugin, context.config), { projectRoot: context.projectRoot, stackName: "conformance", artifactStore: store });
  try {
    if (orchestrator.status) {
      const status = await orchestrator.status(result.runId);
      if (status !== "succeeded") fail(`status() of finished run ${result.runId} is ${JSON.stringify(status)}, expected "succeeded".`);
    }
    if (context.plugin.capabilities.stop) {
      if (typeof orchestrator.stop !== "function") return fail("capabilities.stop is true, but the runtime has no stop(runId).");
      try {
        await orchestrator.stop(result.runId);
      } catch (error) {
        fail(`stop() of an already finished run should do nothing, but it threw: ${describeError(error)}`, error);
      }
      const after = await readRunRecord(store, result.runId);
      if (after?.status !== "succeeded") fail(`stop() of an already finished run changed its status to "${after?.status}".`);
    }
  } finally {
    await orchestrator.dispose?.();
  }
  if (context.plugin.capabilities.stop) await stopRunningRun(context);
};

/** With capabilities.stop: stop() of a running run ends it "stopped", before its step finishes. */
async function stopRunningRun(context: ConformanceContext): Promise<void> {
  const fail = failer("status-stop", context);
  // How long tk_sleeper waits to be stopped; a run that is not stopped succeeds after it.
  const STOP_WAIT_SECONDS = context.options.stopWaitSeconds ?? 30;
  const dir = await context.tempDir("stop");
  const storeDir = await context.tempDir("store");
  const runId = `tk-stop-${Date.now().toString(36)}`;
  // As `orch pipeline run` starts it (with its Ctrl-C handling: in-process flavors stop a run of this
  // very process by signalling it), in the background while the suite stops it.
  const running = stoppable
    .run({ stack: context.stack(storeDir), projectRoot: context.projectRoot, params: { dir, waitSeconds: STOP_WAIT_SECONDS }, runId, handleSignals: true })
    .then((result) => ({ result }), (error: unknown) => ({ error }));
  const startedFile = join(dir, `${runId}.started`);
  const waitUntil = Date.now() + (context.options.timeout ?? 60_000) / 2;
  while (!existsSync(startedFile)) {
    if (Date.now() > waitUntil) {
      const outcome = await Promise.race([running, sleep(10).then(() => undefined)]);
      return fail(`the run ${runId} of tk_stoppable never started its step tk_sleeper${outcome && "error" in outcome ? `: ${describeError(outcome.error)}` : ""}.`);
    }
    await sleep(50);
  }
  const store = await context.openStore(storeDir);
  const orchestrator = await context.plugin.create(parseComponentConfig(context.plugin, context.config), { projectRoot: context.projectRoot, stackName: "conformance", artifactStore: store });
  try {
    if (orchestrator.status) {
      const status = await orchestrator.status(runId);
      if (status !== "running") fail(`status() of run ${runId}, whose step tk_sleeper is running, is ${JSON.stringify(status)}, expected "running".`);
    }
    try {
      await orchestrator.stop!(runId);
    } catch (error) {
      fail(`stop() of running run ${runId} threw: ${describeError(error)}`, error);
    }
    const outcome = await running;
    const run = await readRunRecord(store, runId);
    if (run?.status !== "stopped") {
      fail(`stop() of running run ${runId} did not stop it: run.json says "${run?.status}"${run?.status === "succeeded" ? ` (tk_sleeper waited its ${STOP_WAIT_SECONDS}s and finished)` : ""}${"error" in outcome ? `; the run threw ${describeError(outcome.error)}` : ""}. stop() must end the run and record it "stopped".`);
    }
    if (orchestrator.status) {
      const status = await orchestrator.status(runId);
      if (status !== "stopped") fail(`status() of stopped run ${runId} is ${JSON.stringify(status)}, expected "stopped".`);
    }
  } finally {
    await orchestrator.dispose?.();
  }
}

/** Every check, by name, with the sentence the suite prints for it. */
export const orchestratorChecks: Record<OrchestratorCheckName, { title: string; check: ConformanceCheck }> = {
  descriptor: { title: "is declared with defineOrchestrator (kind, API version, canonical flavor, capabilities)", check: checkDescriptor },
  package: { title: "is named so core resolves the flavor, with plugin keywords and core as a peer", check: checkPackage },
  "config-schema": { title: "has a strict, documented config schema that applies defaults", check: checkConfigSchema },
  "sdk-lazy": { title: "loads no SDK module before create()", check: checkSdkLazy },
  dispose: { title: "creates a runtime whose dispose() is safe to call twice", check: checkDispose },
  chain: { title: "runs a chain in order with correct outputs and journal", check: checkChain },
  diamond: { title: "runs a diamond in topological order", check: checkDiamond },
  "fan-out": { title: "runs a wide fan-out and fan-in", check: checkFanOut },
  retries: { title: "retries a failing step per its retry policy", check: checkRetries },
  failure: { title: "fails the run when a step keeps failing and skips its dependents", check: checkFailure },
  cache: { title: "reuses cached outputs when the same pipeline runs again", check: checkCache },
  dynamic: { title: "runs dynamic pipelines when declared, refuses them otherwise", check: checkDynamic },
  resources: { title: "honours resource settings or refuses them", check: checkResources },
  schedules: { title: "creates the schedules it declares and refuses the others", check: checkSchedules },
  parallel: { title: "runs independent steps at the same time when declared parallel", check: checkParallel },
  logs: { title: "returns step logs when declared", check: checkLogs },
  "status-stop": { title: "reports status and stops only running runs", check: checkStatusStop },
};
