import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import type { PipelineDefinition, RunResult } from "@orch/core";
import { findProject, initProject, openProjectIndex, requireProject, type Project } from "../context.js";
import { UsageError } from "../errors.js";
import { displayFlavor, note, out, paint, printJson, quote, table } from "../output.js";
import type { RecordingContext } from "../runtime.js";

interface RunOptions {
  stack?: string;
  param?: string[];
  config?: string;
  now?: boolean;
  runId?: string;
  scheduleId?: string;
  json?: boolean;
  out?: string;
}

/** `FILE#export` → file and export name. */
export function splitSpec(spec: string): { file: string; exportName?: string } {
  const hash = spec.lastIndexOf("#");
  if (hash > 0) return { file: spec.slice(0, hash), exportName: spec.slice(hash + 1) };
  return { file: spec };
}

function splitParam(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`Invalid --param ${quote(text)}.`, "Write parameters as --param key=value (e.g. --param trees=100).");
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/**
 * The run's parameters: the config file's, then `--param`s, each value read as the pipeline's params
 * schema says (a string parameter gets "123" for `--param name=123`); see `paramValue`.
 */
async function pipelineParams(pipeline: PipelineDefinition, fromConfig: Record<string, unknown>, fromArgs: [string, string][]): Promise<Record<string, unknown>> {
  const { paramValue, configParamValue, schemaShape } = await import("../config-keys.js");
  const shape = pipeline.paramsSchema ? schemaShape(pipeline.paramsSchema) : undefined;
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fromConfig)) params[key] = configParamValue(value, shape?.[key]);
  for (const [key, raw] of fromArgs) params[key] = paramValue(raw, shape?.[key], key);
  return params;
}

async function readRunConfig(path: string | undefined): Promise<{ parameters: Record<string, unknown>; stack?: string }> {
  if (!path) return { parameters: {} };
  if (!existsSync(path)) throw new UsageError(`Config file ${path} does not exist.`, "Pass a YAML file with `parameters:` (and optionally `stack:`).");
  const { parse } = await import("yaml");
  let data: unknown;
  try {
    data = parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`Could not parse ${path}: ${(error as Error).message.split("\n")[0]}`, "The run config is YAML: parameters: { key: value }, stack: name.");
  }
  if (data === null || data === undefined) return { parameters: {} };
  if (typeof data !== "object" || Array.isArray(data)) throw new UsageError(`${path} must hold a YAML mapping.`, "For example:\nparameters:\n  trees: 100");
  const { parameters, params, stack, ...rest } = data as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new UsageError(`Unknown key "${unknown[0]}" in ${path}.`, "A run config has `parameters` (or `params`) and `stack`.");
  const values = parameters ?? params ?? {};
  if (typeof values !== "object" || values === null || Array.isArray(values)) throw new UsageError(`\`parameters\` in ${path} must be a mapping.`, "parameters:\n  key: value");
  if (stack !== undefined && typeof stack !== "string") throw new UsageError(`\`stack\` in ${path} must be a stack name.`, "stack: production");
  return { parameters: values as Record<string, unknown>, ...(stack ? { stack } : {}) };
}

/** The pipeline a file exports: the named export, or its only exported pipeline. */
export async function loadPipelineExport(spec: string, project: Project): Promise<{ pipeline: PipelineDefinition; exportName: string; file: string; sourceFile: string; module: Record<string, unknown> }> {
  const { file, exportName } = splitSpec(spec);
  const absolute = resolve(file);
  if (!existsSync(absolute)) throw new UsageError(`Pipeline file ${file} does not exist.`, "Give the path of a .ts/.js file that exports a pipeline, optionally FILE#exportName.");
  const { importFile } = await import("../runtime.js");
  const { isPipelineDefinition } = await import("@orch/core/host");
  const module = await importFile(absolute, project.root);
  const pipelines = Object.entries(module).filter(([, value]) => isPipelineDefinition(value)) as [string, PipelineDefinition][];
  let chosen: [string, PipelineDefinition] | undefined;
  if (exportName) {
    const value = module[exportName];
    if (value === undefined) throw new UsageError(`${file} has no export named "${exportName}".`, pipelines.length ? `Pipelines it exports: ${pipelines.map(([n]) => n).join(", ")}.` : "Export the pipeline: export const training = pipeline({ name: … }, …)");
    if (!isPipelineDefinition(value)) throw new UsageError(`Export "${exportName}" of ${file} is not a pipeline.`, "Point at an export created with pipeline({ name }, fn).");
    chosen = [exportName, value];
  } else if (pipelines.length === 1) chosen = pipelines[0];
  else if (pipelines.length === 0) {
    throw new UsageError(`${file} exports no pipeline.`, "Export one: export const training = pipeline({ name: \"training\" }, () => { … }), or name it with FILE#export.");
  } else {
    throw new UsageError(`${file} exports ${pipelines.length} pipelines (${pipelines.map(([n]) => n).join(", ")}).`, `Choose one: orch pipeline run ${file}#${pipelines[0]![0]}`);
  }
  const sourceFile = relative(project.root, absolute).split(sep).join("/");
  return { pipeline: chosen![1], exportName: chosen![0], file, sourceFile, module };
}

async function setup(options: RunOptions, allowInit: boolean) {
  let project = findProject();
  if (!project) {
    if (!allowInit) project = requireProject();
    else {
      project = initProject(process.cwd()).project;
      note(`note: no .orch/ found; initialized orch in ${project.home}`);
    }
  }
  const config = await readRunConfig(options.config);
  const rawParams = (options.param ?? []).map(splitParam);
  const params = (pipeline: PipelineDefinition) => pipelineParams(pipeline, config.parameters, rawParams);
  const index = openProjectIndex(project);
  const stackName = options.stack ?? config.stack ?? index.activeStackName();
  index.requireStack(stackName);
  const { installStackResolver } = await import("../runtime.js");
  const context: RecordingContext = { index, project, observers: [], resolutions: 0, ...(options.scheduleId ? { scheduleId: options.scheduleId } : {}) };
  installStackResolver(context);
  return { project, index, params, stackName, context };
}

export async function run(spec: string, options: RunOptions): Promise<number> {
  if (options.runId !== undefined) {
    // Before anything is loaded or created: the id becomes a folder name and a CLI argument.
    const { RUN_ID_PATTERN, assertValidRunId } = await import("@orch/core/host");
    if (!RUN_ID_PATTERN.test(options.runId)) (assertValidRunId as (id: unknown) => void)(options.runId);
  }
  const { project, index, params, stackName, context } = await setup(options, true);
  try {
    if (options.runId !== undefined && index.getRun(options.runId)) {
      throw new UsageError(`Run id "${options.runId}" is already taken by a run of pipeline ${index.getRun(options.runId)!.pipeline}.`, `Choose another --run-id (or leave it out for a generated one); to continue that run use: orch run resume ${options.runId}`);
    }
    const { createLiveView } = await import("../live-view.js");
    const view = createLiveView({ quiet: Boolean(options.json) });
    context.observers.push(view);
    const loaded = await loadPipelineExport(spec, project);
    if (context.resolutions > 0) {
      note(`note: ${loaded.file} ran its pipeline(s) itself while being imported (top-level .run()); not running again.`);
      const recent = index.listRuns({ limit: context.resolutions });
      if (options.json) printJson({ ranOnImport: true, runs: recent.map((r) => ({ runId: r.runId, status: r.status, pipeline: r.pipeline, stack: r.stack })) });
      return recent.every((r) => r.status === "succeeded") ? 0 : 1;
    }
    const { pipeline } = loaded;
    if (pipeline.schedule && !options.now) return await registerSchedule(loaded, { project, params: await params(pipeline), stackName, context, json: options.json });
    const { newRunId } = await import("@orch/core/host");
    const runId = options.runId ?? newRunId();
    let result;
    try {
      result = await pipeline.run({ stack: stackName, params: await params(pipeline), runId, projectRoot: project.root });
    } finally {
      view.close();
      if (index.getRun(runId)) index.upsertPipeline({ name: pipeline.name, sourceFile: loaded.sourceFile, exportName: loaded.exportName });
    }
    const error = runError(result);
    // A failed run is still one JSON document: the result, with the error in it.
    if (options.json) printJson({ runId: result.runId, status: result.status, pipeline: pipeline.name, stack: stackName, steps: result.steps.map((s) => ({ id: s.stepId, status: s.status, durationMs: s.durationMs })), ...(error ? { error } : {}) });
    if (error) {
      note(`${paint.red("error:")} ${error.message}${error.hint ? `\n${paint.dim("hint:")} ${error.hint}` : ""}`);
      return 1;
    }
    return 0;
  } finally {
    index.close();
  }
}

/** Why a run did not succeed, as `--json` and `error:` / `hint:` say it (undefined when it succeeded). */
function runError(result: RunResult): { code: string; message: string; hint?: string; step?: string } | undefined {
  if (result.status === "succeeded") return undefined;
  const failed = result.steps.find((s) => s.status === "failed");
  if (failed?.error) {
    return {
      code: failed.error.code ?? "E_STEP_FAILED",
      message: `step ${failed.stepId} failed: ${failed.error.message.split("\n")[0]}`,
      hint: `see its log: orch run logs ${result.runId} --step ${failed.stepId}`,
      step: failed.stepId,
    };
  }
  if (result.run.error) return { code: result.run.error.code ?? "E_RUN_FAILED", message: result.run.error.message.split("\n")[0]! };
  return { code: result.status === "stopped" ? "E_CANCELLED" : "E_RUN_FAILED", message: `run ${result.runId} ${result.status}` };
}

async function registerSchedule(
  loaded: Awaited<ReturnType<typeof loadPipelineExport>>,
  options: { project: Project; params: Record<string, unknown>; stackName: string; context: RecordingContext; json?: boolean | undefined },
): Promise<number> {
  const { pipeline } = loaded;
  const schedule = pipeline.schedule!;
  const core = await import("@orch/core/host");
  core.assertScheduleHasFuture(schedule, pipeline.name);
  const { stackFromIndex } = await import("../runtime.js");
  const { project, stackName, context } = options;
  const stack = await core.activateStack(await stackFromIndex(context, stackName), project.root);
  const { snapshot } = core.compilePipeline(pipeline, options.params, { projectRoot: project.root });
  const plugin = stack.orchestrator.plugin;
  const kind = core.scheduleKind(schedule);
  if (!plugin.capabilities.schedules[kind]) {
    throw new core.OrchError("E_CAPABILITY_UNSUPPORTED", {
      flavor: plugin.flavor,
      message: `The ${displayFlavor(plugin.flavor)} orchestrator of stack "${stackName}" cannot run ${kind} schedules (pipeline "${pipeline.name}").`,
      hint: "Use another schedule kind or a stack whose orchestrator supports it, or run once now with --now.",
    });
  }
  const id = `${pipeline.name}@${stackName}`;
  const base = {
    id,
    pipeline: pipeline.name,
    stack: stackName,
    sourceFile: loaded.sourceFile,
    exportName: loaded.exportName,
    parameters: snapshot.parameters as Record<string, unknown>,
    schedule: schedule as Record<string, unknown>,
    state: "active" as const,
    createdAt: new Date().toISOString(),
  };
  const previous = context.index.getSchedule(id);
  context.index.upsertPipeline({ name: pipeline.name, sourceFile: loaded.sourceFile, exportName: loaded.exportName, hash: snapshot.pipeline.hash });
  const unchanged = previous && JSON.stringify(previous.schedule) === JSON.stringify(base.schedule);
  if (!plugin.capabilities.schedules.manage) {
    context.index.putSchedule({
      ...base,
      managedBy: "index",
      ...(unchanged ? { nextRunAt: previous.nextRunAt, lastRunAt: previous.lastRunAt, lastRunId: previous.lastRunId, createdAt: previous.createdAt } : {}),
    });
    if (options.json) printJson({ scheduleId: id, pipeline: pipeline.name, stack: stackName, managedBy: "index", schedule });
    else {
      out(`Scheduled pipeline "${pipeline.name}" on stack "${stackName}" (${describeSchedule(schedule)}), schedule id ${id}.`);
      out(`The ${displayFlavor(plugin.flavor)} orchestrator has no scheduler of its own: keep \`orch schedule serve\` running to start these runs. Run once now with --now.`);
    }
    return 0;
  }
  const orchestrator = await plugin.create(stack.orchestrator.config as never, {
    projectRoot: project.root,
    stackName,
    artifactStore: stack.artifactStore,
    ...(stack.containerRegistry ? { containerRegistry: stack.containerRegistry } : {}),
  });
  try {
    if (!orchestrator.schedule) throw new UsageError(`The ${displayFlavor(plugin.flavor)} orchestrator does not implement schedules.`, "Run with --now, or use orch schedule serve with a local stack.");
    if (previous?.managedBy === "native" && previous.nativeId) await orchestrator.deleteSchedule?.(previous.nativeId);
    const { id: nativeId } = await orchestrator.schedule(snapshot, schedule);
    context.index.putSchedule({ ...base, managedBy: "native", nativeId });
    if (options.json) printJson({ scheduleId: id, nativeId, pipeline: pipeline.name, stack: stackName, managedBy: "native", schedule });
    else out(`Scheduled pipeline "${pipeline.name}" with the ${displayFlavor(plugin.flavor)} orchestrator's scheduler (${describeSchedule(schedule)}), id ${nativeId}.`);
    return 0;
  } finally {
    await orchestrator.dispose?.();
  }
}

export function describeSchedule(schedule: Record<string, unknown>): string {
  if (schedule.cron) return `cron "${schedule.cron}"${schedule.timezone ? ` ${schedule.timezone}` : ""}`;
  if (schedule.intervalSeconds) return `every ${schedule.intervalSeconds}s`;
  if (schedule.runOnceAt) return `once at ${schedule.runOnceAt}`;
  return "?";
}

export async function compile(spec: string, options: RunOptions): Promise<number> {
  const { project, index, params, stackName, context } = await setup(options, false);
  try {
    const loaded = await loadPipelineExport(spec, project);
    const core = await import("@orch/core/host");
    const { stackFromIndex } = await import("../runtime.js");
    const stack = await core.activateStack(await stackFromIndex(context, stackName), project.root);
    const { snapshot } = core.compilePipeline(loaded.pipeline, await params(loaded.pipeline), { projectRoot: project.root });
    const plugin = stack.orchestrator.plugin;
    const orchestrator = await plugin.create(stack.orchestrator.config as never, {
      projectRoot: project.root,
      stackName,
      artifactStore: stack.artifactStore,
      ...(stack.containerRegistry ? { containerRegistry: stack.containerRegistry } : {}),
    });
    try {
      if (!orchestrator.compile) {
        throw new UsageError(
          `The ${displayFlavor(plugin.flavor)} orchestrator of stack "${stackName}" has no native format to compile to.`,
          "Compile with a stack whose orchestrator has one (kubeflow, airflow, sagemaker, azureml, databricks, vertex, kubernetes): --stack NAME.",
        );
      }
      const files = await orchestrator.compile(snapshot);
      const outDir = resolve(options.out!);
      const written: string[] = [];
      for (const [name, contents] of Object.entries({ ...files, "snapshot.json": core.serializeSnapshot(snapshot) })) {
        const target = resolve(outDir, name);
        if (isAbsolute(name) || relative(outDir, target).startsWith("..")) throw new UsageError(`The ${displayFlavor(plugin.flavor)} plugin produced an unsafe file name "${name}".`, "Report this to the plugin's authors.");
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, contents);
        written.push(relative(process.cwd(), target) || target);
      }
      if (options.json) printJson({ pipeline: loaded.pipeline.name, stack: stackName, flavor: displayFlavor(plugin.flavor), outDir, files: written });
      else {
        out(`Compiled pipeline "${loaded.pipeline.name}" for ${displayFlavor(plugin.flavor)}:`);
        for (const file of written) out(`  ${file}`);
      }
      return 0;
    } finally {
      await orchestrator.dispose?.();
    }
  } finally {
    index.close();
  }
}

export function list(options: { json?: boolean }): number {
  const index = openProjectIndex(requireProject());
  try {
    const schedules = index.listSchedules();
    const rows = index.listPipelines().map((p) => ({ ...p, schedules: schedules.filter((s) => s.pipeline === p.name).map((s) => s.id) }));
    if (options.json) printJson(rows);
    else if (!rows.length) out("No pipelines yet. Run one: orch pipeline run FILE");
    else
      out(
        table(
          ["PIPELINE", "SOURCE", "RUNS", "LAST RUN", "LAST STATUS", "SCHEDULES"],
          rows.map((p) => [p.name, p.sourceFile ? `${p.sourceFile}${p.exportName ? `#${p.exportName}` : ""}` : "-", String(p.runCount ?? 0), p.lastRunId ?? "-", p.lastStatus ?? "-", p.schedules.join(", ") || "-"]),
        ),
      );
    return 0;
  } finally {
    index.close();
  }
}

