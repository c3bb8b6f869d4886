import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleResolve } from "import-meta-resolve";
import { OrchError } from "../errors.js";
import { registeredPipeline, type PipelineDefinition } from "../dsl/pipeline.js";
import { registeredStep, uniqueStepNamed, type StepDefinition } from "../dsl/step.js";
import type { Snapshot, SnapshotStep } from "../snapshot/snapshot.js";
import { compiledModulePath, compiledModuleRoot } from "./compiled-modules.js";

export { compiledModulePath } from "./compiled-modules.js";
import { setEntrypointLoading, whenNestedRunParked } from "./entrypoint-state.js";

const TYPESCRIPT = /\.(c|m)?tsx?$/;
let typescriptLoader: Promise<void> | undefined;

/**
 * Imports a user module recorded in a snapshot (path relative to the project root). TypeScript
 * modules need tsx: when the process was not started with `--import tsx`, the project's own tsx is
 * registered on first use.
 */
export async function importUserModule(modulePath: string, projectRoot: string): Promise<string> {
  const compiled = compiledModule(modulePath);
  const file = compiled ?? resolve(projectRoot, modulePath);
  const url = pathToFileURL(file).href;
  if (!compiled && TYPESCRIPT.test(file)) await ensureTypeScriptLoader(projectRoot, modulePath);
  setEntrypointLoading(true);
  try {
    // A parked top-level pipeline.run() leaves the import pending forever; its steps are registered by then.
    await Promise.race([import(url), whenNestedRunParked()]);
  } catch (cause) {
    if (cause instanceof OrchError) throw cause;
    throw new OrchError("E_SOURCE_LOAD", {
      message: `Could not import ${modulePath} (from project root ${projectRoot}): ${(cause as Error)?.message ?? cause}`,
      hint: "Run from the same project (and image) the pipeline was compiled in; the module path is relative to its root.",
      cause,
    });
  } finally {
    setEntrypointLoading(false);
  }
  return url;
}

/** The precompiled file of a module, when a compiled-module root is set and holds it. */
function compiledModule(modulePath: string): string | undefined {
  const compiledRoot = compiledModuleRoot();
  if (!compiledRoot) return undefined;
  const file = resolve(compiledRoot, `${compiledModulePath(modulePath)}.js`);
  return existsSync(file) ? file : undefined;
}

function ensureTypeScriptLoader(projectRoot: string, modulePath: string): Promise<void> {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ");
  // Already loaded with --import tsx, or inside a vitest worker, which transforms TypeScript itself.
  if (/\btsx\b/.test(flags) || "__vitest_worker__" in globalThis) return Promise.resolve();
  typescriptLoader ??= (async () => {
    let api: URL;
    try {
      api = moduleResolve("tsx/esm/api", pathToFileURL(resolve(projectRoot, "__orch_resolve__.js")));
    } catch (cause) {
      throw new OrchError("E_SOURCE_LOAD", {
        message: `${modulePath} is TypeScript, and tsx is not installed in the project at ${projectRoot}.`,
        hint: "Add tsx to the project (npm install -D tsx), or compile the pipeline modules to JavaScript.",
        cause,
      });
    }
    const { register } = (await import(api.href)) as { register: () => unknown };
    register();
  })();
  return typescriptLoader;
}

/** Loads the functions of the given steps, checking each is still the code the snapshot was compiled from. */
export async function loadStepDefinitions(steps: SnapshotStep[], projectRoot: string): Promise<Map<string, StepDefinition>> {
  const urls = new Map<string, string>();
  for (const module of new Set(steps.map((s) => s.source.module))) urls.set(module, await importUserModule(module, projectRoot));
  const definitions = new Map<string, StepDefinition>();
  for (const step of steps) {
    const url = urls.get(step.source.module)!;
    const definition = registeredStep(url, step.name) ?? registeredStep(resolve(projectRoot, step.source.module), step.name) ?? uniqueStepNamed(step.name);
    if (!definition) {
      throw new OrchError("E_SOURCE_LOAD", {
        step: step.id,
        message: `Step "${step.name}" was not found in ${step.source.module}.`,
        hint: "The module must define the step with step({ name }) at top level.",
      });
    }
    // A bundle compiled by orch from the same sources (setCompiledModuleRoot) always has other text.
    const compiledRoot = compiledModuleRoot();
    const precompiled = compiledRoot !== undefined && url.startsWith(pathToFileURL(compiledRoot).href);
    if (!precompiled && definition.codeHash !== step.codeHash) {
      // The hash covers the function text as the running transformer emits it (tsx, vitest, tsc all
      // differ), so a mismatch is not proof of an edit: say so loudly and run the code that is here.
      process.stderr.write(
        `[orch] warning: step "${step.name}" in ${step.source.module} differs from the code the snapshot was compiled from (edited, or built by another transformer); running the code found.\n`,
      );
    }
    definitions.set(step.id, definition);
  }
  return definitions;
}

/** Loads the pipeline definition behind a snapshot (dynamic pipelines run its function). */
export async function loadPipelineDefinition(snapshot: Snapshot, projectRoot: string): Promise<PipelineDefinition> {
  const source = snapshot.pipeline.source;
  if (!source) {
    throw new OrchError("E_SOURCE_LOAD", { message: `The snapshot of pipeline "${snapshot.pipeline.name}" records no source module.`, hint: "Define pipelines at the top level of a module." });
  }
  const url = await importUserModule(source.module, projectRoot);
  const definition = registeredPipeline(url, snapshot.pipeline.name) ?? registeredPipeline(resolve(projectRoot, source.module), snapshot.pipeline.name);
  if (!definition) {
    throw new OrchError("E_SOURCE_LOAD", {
      message: `Pipeline "${snapshot.pipeline.name}" was not found in ${source.module}.`,
      hint: "The module must define it with pipeline({ name }) at top level.",
    });
  }
  return definition;
}
