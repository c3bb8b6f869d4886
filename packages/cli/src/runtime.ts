/**
 * The parts of the CLI that need @orch/core: plugin schemas, stacks from the index, the stack
 * resolver that makes `pipeline.run()` use the index, and the observer that records runs live.
 */
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OrchError, z, type ComponentSpec, type RunObserver, type StackDefinition, type StepRecord } from "@orch/core";
import { type Orchestrator, type OrchestratorPlugin } from "@orch/core/plugin";
import { BUILT_IN_REGISTRIES, canonicalFlavor, displayFlavor, journalKeys, localArtifactStoreConfigSchema, resolvePlugin, setStackResolver, userFrame, writeRunRecord } from "@orch/core/host";
import type { ComponentKind, ComponentRow, OrchIndex } from "@orch/store-sqlite";
import type { Project } from "./context.js";
import { UsageError } from "./errors.js";

/** The config schema (and plugin, for orchestrators) behind a component flavor. */
export async function componentSchema(kind: ComponentKind, flavor: string, project: Project, pkg?: string): Promise<{ schema: z.ZodType; flavor: string; plugin?: OrchestratorPlugin }> {
  if (kind === "container-registry") {
    // Built in (default, dockerhub, github) or a package found by name (@orch/registry-aws …).
    const id = canonicalFlavor(flavor);
    const plugin = (!pkg ? BUILT_IN_REGISTRIES[id] : undefined) ?? (await resolvePlugin("container-registry", id, { projectRoot: project.root, ...(pkg ? { package: pkg } : {}) }));
    return { schema: plugin.configSchema, flavor: plugin.flavor };
  }
  if (kind === "artifact-store") {
    const id = canonicalFlavor(flavor);
    if (id === "local" && !pkg) return { schema: localArtifactStoreConfigSchema, flavor: id };
    const plugin = await resolvePlugin("artifact-store", id, { projectRoot: project.root, ...(pkg ? { package: pkg } : {}) });
    return { schema: plugin.configSchema, flavor: plugin.flavor };
  }
  const plugin = await resolvePlugin("orchestrator", flavor, { projectRoot: project.root, ...(pkg ? { package: pkg } : {}) });
  return { schema: plugin.configSchema, flavor: plugin.flavor, plugin };
}

// ── stacks from the index ─────────────────────────────────────────────────────────────────────────

function spec(component: ComponentRow): ComponentSpec<never> {
  return { name: component.name, flavor: component.flavor, config: component.config, ...(component.package ? { package: component.package } : {}) };
}

/** Where a stack's runs are journaled, when its artifact store is a local folder. */
export function localStoreUri(index: OrchIndex, stackName: string, project: Project): string | undefined {
  const stack = index.getStack(stackName);
  const store = stack && index.getComponent("artifact-store", stack.artifactStore);
  if (!store || canonicalFlavor(store.flavor) !== "local" || store.package) return undefined;
  return resolve(project.root, String(store.config.path ?? ".orch/artifacts"));
}

export interface RecordingContext {
  index: OrchIndex;
  project: Project;
  scheduleId?: string;
  /** Extra observers for runs of this process (the live view). */
  observers: RunObserver[];
  /** Stacks resolved so far (to tell whether the user's module ran a pipeline while being imported). */
  resolutions: number;
}

/**
 * Makes `pipeline.run()` in this process use the index: a stack name (or none: the active stack)
 * resolves to the registered stack, and every run it submits is recorded in the index as it happens.
 */
export function installStackResolver(context: RecordingContext): void {
  setStackResolver(async (name) => {
    context.resolutions++;
    return stackFromIndex(context, name);
  });
}

export async function stackFromIndex(context: RecordingContext, name: string | undefined): Promise<StackDefinition> {
  const { index, project } = context;
  const stackName = name ?? index.activeStackName();
  const stack = index.getStack(stackName);
  if (!stack) {
    const names = index.listStacks().map((s) => s.name);
    throw new OrchError("E_STACK_INVALID", {
      message: `Stack "${stackName}" is not registered in ${project.home}.`,
      hint: `Registered stacks: ${names.join(", ")}. See orch stack list; create one with orch stack register ${stackName} -o ORCHESTRATOR.`,
    });
  }
  const orchestrator = index.requireComponent("orchestrator", stack.orchestrator);
  const artifactStore = index.requireComponent("artifact-store", stack.artifactStore);
  const registry = stack.containerRegistry ? index.requireComponent("container-registry", stack.containerRegistry) : undefined;
  const plugin = await resolvePlugin("orchestrator", orchestrator.flavor, { projectRoot: project.root, ...(orchestrator.package ? { package: orchestrator.package } : {}) });
  const storeUri = localStoreUri(index, stackName, project);
  return {
    name: stackName,
    orchestrator: { ...spec(orchestrator), plugin: recordingPlugin(plugin, context, storeUri) } as ComponentSpec<OrchestratorPlugin>,
    artifactStore: spec(artifactStore) as StackDefinition["artifactStore"],
    ...(registry ? { containerRegistry: spec(registry) } : {}),
  };
}

/** Wraps a plugin so that every run it submits feeds the index (and the live view). */
function recordingPlugin(plugin: OrchestratorPlugin, context: RecordingContext, storeUri: string | undefined): OrchestratorPlugin {
  return Object.freeze({
    ...plugin,
    async create(config: unknown, pluginContext: Parameters<OrchestratorPlugin["create"]>[1]) {
      const orchestrator = await plugin.create(config as never, pluginContext);
      const submit: Orchestrator["submit"] = async (snapshot, submitContext) => {
        const { index } = context;
        const observer = indexObserver(index, { storeUri, scheduleId: context.scheduleId, sourceFile: undefined });
        // Recorded before submitting, so fire-and-forget flavors show up too (without a pid: no local process drives them).
        if (!index.getRun(submitContext.runId)) {
          index.upsertRun({
            runId: submitContext.runId,
            pipeline: snapshot.pipeline.name,
            pipelineHash: snapshot.pipeline.hash,
            status: "running",
            stack: pluginContext.stackName,
            orchestrator: plugin.flavor,
            startedAt: new Date().toISOString(),
            parameters: snapshot.parameters as Record<string, unknown>,
            storeUri: storeUri ?? pluginContext.artifactStore.uri,
            storeFlavor: storeUri ? "local" : pluginContext.artifactStore.flavor,
            scheduleId: context.scheduleId,
          });
        }
        index.upsertPipeline({ name: snapshot.pipeline.name, hash: snapshot.pipeline.hash, sourceFile: snapshot.pipeline.source?.module });
        const observers = [submitContext.observer, observer, ...context.observers].filter(Boolean) as RunObserver[];
        // Every failure after the row exists ends the run as failed with the reason, so nothing (not
        // `orch schedule serve`'s overlap check either) sees it running forever.
        const failed = async (error: unknown) => {
          const code = (error as { code?: unknown })?.code;
          // Refused because another process owns the run (a concurrent resume): the row is that run's.
          if (code === "E_RUN_LOCKED" || code === "E_RUN_EXISTS") return error;
          const current = index.getRun(submitContext.runId);
          if (current?.status === "running") {
            const e = error as { message?: string; code?: string };
            const reason = { message: String(e?.message ?? error), ...(typeof e?.code === "string" ? { code: e.code } : {}) };
            const finishedAt = new Date().toISOString();
            index.upsertRun({ ...current, status: "failed", finishedAt, error: reason });
            // The journal too, when the run never got a record there (the backend was never reached).
            const store = pluginContext.artifactStore;
            try {
              if (!(await store.exists(journalKeys.run(submitContext.runId)))) {
                await writeRunRecord(store, {
                  runId: submitContext.runId,
                  pipeline: snapshot.pipeline.name,
                  pipelineHash: snapshot.pipeline.hash,
                  status: "failed",
                  startedAt: current.startedAt,
                  finishedAt,
                  stack: pluginContext.stackName,
                  orchestrator: plugin.flavor,
                  parameters: snapshot.parameters as Record<string, unknown>,
                  error: reason,
                });
              }
            } catch {
              // the store itself is what failed: the index has the reason
            }
          }
          return error;
        };
        let handle: Awaited<ReturnType<Orchestrator["submit"]>>;
        try {
          handle = await orchestrator.submit(snapshot, { ...submitContext, observer: fanOut(observers) });
        } catch (error) {
          throw await failed(error);
        }
        return {
          ...handle,
          async wait() {
            let result;
            try {
              result = await handle.wait();
            } catch (error) {
              throw await failed(error);
            }
            // One transaction: a statement outside one is a transaction of its own, which for 1,000 steps
            // cost more than the whole run's index batches.
            index.transaction(() => {
              index.upsertRun({ ...runRow(result.run, storeUri, pluginContext.artifactStore, context.scheduleId) });
              for (const step of result.steps) index.upsertStep(stepRow(step));
            });
            return result;
          },
        };
      };
      return new Proxy(orchestrator, {
        get(target, property, receiver) {
          if (property === "submit") return submit;
          const value = Reflect.get(target, property, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  }) as OrchestratorPlugin;
}

function fanOut(observers: RunObserver[]): RunObserver {
  return {
    async runStarted(run, snapshot) {
      for (const o of observers) await o.runStarted?.(run, snapshot);
    },
    async stepUpdated(record) {
      for (const o of observers) await o.stepUpdated?.(record);
    },
    logLine(stepId, line) {
      for (const o of observers) o.logLine?.(stepId, line);
    },
    async runFinished(run, steps) {
      for (const o of observers) await o.runFinished?.(run, steps);
    },
  };
}

type CoreRun = Parameters<NonNullable<RunObserver["runFinished"]>>[0];

function runRow(run: CoreRun, storeUri: string | undefined, store: { uri: string; flavor: string } | undefined, scheduleId: string | undefined) {
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    pipelineHash: run.pipelineHash,
    status: run.status,
    stack: run.stack,
    orchestrator: run.orchestrator,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    pid: run.pid,
    pidStartTime: run.pidStartTime,
    host: run.host,
    parameters: run.parameters,
    error: run.error ? { message: run.error.message, ...(run.error.code ? { code: run.error.code } : {}) } : undefined,
    storeUri: storeUri ?? store?.uri,
    storeFlavor: storeUri ? "local" : store?.flavor,
    scheduleId,
    url: run.url,
  };
}

export function stepRow(step: StepRecord) {
  return {
    runId: step.runId,
    stepId: step.stepId,
    name: step.name,
    status: step.status,
    attempts: step.attempts,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    durationMs: step.durationMs,
    cachedFrom: step.cachedFrom,
    error: step.error ? { message: step.error.message, ...(step.error.code ? { code: step.error.code } : {}) } : undefined,
    outputs: step.outputs,
  };
}

/**
 * Records a run in the index as it happens (run start with pid/host, step updates, the end). Step
 * updates are batched: everything of the last INDEX_BATCH_MS goes in one transaction (the latest record
 * of each step wins). Batching per event-loop turn was not enough: in-process steps finish one per
 * turn, so that was still a transaction per update, the largest cost of the CLI over pipeline.run()
 * in profiles of 1,000-step runs. Another `orch run list` sees a step at most that much later. The
 * journal stays the source of truth if the process dies before a batch is written (`orch run list`
 * reconciles from it).
 */
/** How long step updates gather before they are written to the index in one transaction. */
const INDEX_BATCH_MS = 100;

export function indexObserver(index: OrchIndex, options: { storeUri: string | undefined; scheduleId: string | undefined; sourceFile: string | undefined }): RunObserver {
  const pending = new Map<string, ReturnType<typeof stepRow>>();
  let scheduled: NodeJS.Timeout | undefined;
  const flush = () => {
    scheduled = undefined;
    if (pending.size === 0) return;
    const rows = [...pending.values()];
    pending.clear();
    try {
      index.transaction(() => {
        for (const row of rows) index.upsertStep(row);
      });
    } catch (error) {
      // Outside the run's call stack here: report like any failing observer, never crash the run.
      process.stderr.write(`[orch] run observer stepUpdated failed: ${(error as Error)?.message ?? error}\n`);
    }
  };
  return {
    runStarted(run, snapshot) {
      index.transaction(() => {
        index.upsertRun({ ...runRow(run, options.storeUri, undefined, options.scheduleId), interrupted: false });
        const known = new Set(index.getSteps(run.runId).map((s) => s.stepId));
        for (const id of snapshot.order) {
          const step = snapshot.steps[id]!;
          if (!known.has(id)) index.upsertStep({ runId: run.runId, stepId: id, name: step.name, status: "pending", attempts: 0 });
        }
      });
    },
    stepUpdated(record) {
      pending.set(`${record.runId}/${record.stepId}`, stepRow(record));
      // unref: a pending batch never keeps the process alive; runFinished writes what is left.
      scheduled ??= setTimeout(flush, INDEX_BATCH_MS).unref();
    },
    runFinished(run, steps) {
      if (scheduled) clearTimeout(scheduled);
      flush();
      index.transaction(() => {
        index.upsertRun(runRow(run, options.storeUri, undefined, options.scheduleId));
        for (const step of steps) index.upsertStep(stepRow(step));
      });
    },
  };
}

// ── loading user TypeScript ────────────────────────────────────────────────────────────────────────

const TSX_FLAG = Symbol.for("orch.cli.tsx");

/**
 * Registers tsx in this process (once) so user pipeline files in TypeScript can be imported, and
 * records `--import tsx` in execArgv as `node --import tsx` would (core and forked children read it).
 */
export async function ensureTypeScript(): Promise<void> {
  const global = globalThis as Record<symbol, unknown>;
  if (global[TSX_FLAG] || /\btsx\b/.test([...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" "))) return;
  const api = (await import("tsx/esm/api")) as { register: () => unknown };
  api.register();
  process.execArgv.push(`--import=${import.meta.resolve("tsx")}`);
  global[TSX_FLAG] = true;
}

/** Imports a user module by path (TypeScript through tsx). Errors become one-line usage errors that keep the location. */
export async function importFile(file: string, root: string = process.cwd()): Promise<Record<string, unknown>> {
  await ensureTypeScript();
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { name?: string })?.name === "OrchError") throw error;
    throw loadError(error, file, root);
  }
}

/**
 * Why a user module failed to load, with the place: esbuild's "Transform failed with 1 error:" is
 * followed by `file:line:col: ERROR: message` (kept, not cut at the first line); Node's SyntaxError
 * puts `file:line` first in its stack; an error thrown at the top level of the module is located by
 * its first frame in user code.
 */
function loadError(error: unknown, file: string, root: string): UsageError {
  const shown = (path: string) => {
    const absolute = path.startsWith("file://") ? fileURLToPath(path) : path;
    const rel = relative(root, absolute);
    return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : absolute;
  };
  const e = (error ?? {}) as { name?: string; message?: string; stack?: string; errors?: { text?: string; location?: { file?: string; line?: number; column?: number } }[] };
  const message = String(e.message ?? error);
  const esbuild = /^Transform failed with \d+ errors?:\n([\s\S]*)$/.exec(message);
  if (esbuild) {
    const first = esbuild[1]!.split("\n")[0]!;
    const located = /^(.*?):(\d+):(\d+): (?:ERROR: )?(.*)$/.exec(first);
    const text = located ? `at ${shown(located[1]!)}:${located[2]}:${located[3]}: ${located[4]}` : `in ${shown(file)}: ${first}`;
    return new UsageError(`Syntax error ${text}`, "Fix the syntax there, then run again.", 2, "E_SOURCE_LOAD");
  }
  // es-module-lexer (used by tsx for .js files): "Parse error /path/file.js:3:62", no description
  const lexer = /^Parse error (\/.+?):(\d+):(\d+)/.exec(message);
  if (e.name === "SyntaxError" || lexer) {
    const checked = syntaxErrorOf(lexer ? lexer[1]! : file);
    const where = lexer ? `${shown(lexer[1]!)}:${lexer[2]}:${lexer[3]}` : checked?.where ? shown(checked.where) : undefined;
    const text = where ? `at ${where}` : `in ${shown(file)} or a module it imports`;
    const what = lexer ? (checked?.message ?? "the file cannot be parsed") : message.split("\n")[0];
    return new UsageError(`Syntax error ${text}: ${what}`, "Fix the syntax there, then run again.", 2, "E_SOURCE_LOAD");
  }
  const frame = userFrame(error, root);
  const detail = e.name && e.name !== "Error" ? `${e.name}: ${message.split("\n")[0]}` : message.split("\n")[0];
  return new UsageError(
    `Could not load ${shown(file)}${frame ? ` (error at ${frame})` : ""}: ${detail}`,
    "Fix the error in that file (run it with `npx tsx FILE` to see the full trace, or set ORCH_DEBUG=1), then run again.",
    2,
    "E_SOURCE_LOAD",
  );
}

/**
 * Node's SyntaxError for an ES module has no location in its message or stack; `node --check` prints
 * it (`/path/file.js:3`). Only run on this error path.
 */
function syntaxErrorOf(file: string): { where?: string; message?: string } | undefined {
  const result = spawnSync(process.execPath, ["--check", file], { encoding: "utf8", timeout: 10_000 });
  if (result.status === 0) return undefined;
  const stderr = result.stderr ?? "";
  return { where: /^(\/.+?:\d+)\s*$/m.exec(stderr)?.[1], message: /^SyntaxError: (.+)$/m.exec(stderr)?.[1] };
}

export const thisHost = hostname;
