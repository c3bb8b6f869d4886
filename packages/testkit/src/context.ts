import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { defineStack, localArtifactStore, type ComponentSpec, type PipelineDefinition, type RunResult, type StackDefinition, type z } from "@orch/core";
import { createArtifactStore, parseComponentConfig, type ArtifactStore, type ArtifactStorePlugin, type Orchestrator, type OrchestratorPlugin } from "@orch/core/plugin";
import { moduleResolveFrom } from "./resolve.js";

/** Names of the conformance checks, as used in `skip`. */
export const ORCHESTRATOR_CHECKS = [
  "descriptor",
  "package",
  "config-schema",
  "sdk-lazy",
  "dispose",
  "chain",
  "diamond",
  "fan-out",
  "retries",
  "failure",
  "cache",
  "dynamic",
  "resources",
  "schedules",
  "parallel",
  "logs",
  "status-stop",
] as const;

export type OrchestratorCheckName = (typeof ORCHESTRATOR_CHECKS)[number];

/** Options of {@link testOrchestratorPlugin} and of every check function. */
export interface OrchestratorConformanceOptions<S extends z.ZodType = z.ZodType> {
  /** The plugin under test: the default export of your package. */
  plugin: OrchestratorPlugin<S>;
  /**
   * A valid config for the plugin, as a user would write it in a stack. Point clients at fakes or
   * loopback servers here; the suite never needs real cloud credentials.
   * @default {}
   */
  config?: z.input<S>;
  /**
   * Folder of the plugin's package.json: used for the package-name check and to find the entry and
   * its dependencies. Default: the nearest package.json above the test file.
   */
  packageRoot?: string;
  /**
   * The project root runs use: snapshot source paths are relative to it, and flavors that run steps
   * in other processes import the suite's pipeline module from it. Default: `packageRoot`.
   */
  projectRoot?: string;
  /**
   * The plugin entry module (path or file URL) that must not load the SDK at import time.
   * Default: the package's `"."` export, resolved with the `@orch/source` condition.
   */
  entry?: string;
  /**
   * Modules that must not be loaded before `create()` (the backend SDKs).
   * Default: the package's `dependencies`, except `@orch/core` and `zod` (pass `sdkModules` explicitly to leave out small helpers the entry may load).
   */
  sdkModules?: string[];
  /**
   * The artifact store runs use. Default: the built-in `local` store in a fresh temp folder per run.
   * Flavors that need a remote store pass a factory for one (a fake bucket on 127.0.0.1, …).
   */
  artifactStore?: (dir: string) => ComponentSpec<ArtifactStorePlugin>;
  /** A container registry for flavors that require one. */
  containerRegistry?: ComponentSpec<never>;
  /**
   * Checks to skip, with the reason (printed with the skipped test). Skip only what your backend
   * truly cannot do in a test; an unsupported capability is checked, not skipped.
   */
  skip?: Partial<Record<OrchestratorCheckName, string>>;
  /**
   * Where the suite makes its temp folders (artifact stores, the files fixture steps coordinate
   * through). Container flavors mount it at the same path. @default os.tmpdir()
   */
  tempRoot?: string;
  /** How long the two steps of the parallelism check wait for each other, in seconds. @default 20 */
  parallelWaitSeconds?: number;
  /** How long the step of the stop check waits to be stopped before it finishes, in seconds. @default 30 */
  stopWaitSeconds?: number;
  /** Timeout of each check in ms. @default 60000 */
  timeout?: number;
  /** Register more `it()`s of your own; they get the same context. */
  additionalTests?: (context: ConformanceContext) => void;
}

/** Everything a check needs; create one with {@link createConformanceContext}. */
export interface ConformanceContext {
  readonly options: OrchestratorConformanceOptions;
  readonly plugin: OrchestratorPlugin;
  readonly flavor: string;
  readonly config: Record<string, unknown>;
  readonly packageRoot: string;
  readonly projectRoot: string;
  /** A fresh temp folder, removed by `cleanup()`. */
  tempDir(label: string): Promise<string>;
  /** The stack runs use, with its artifact store in `storeDir`. */
  stack(storeDir: string): StackDefinition;
  /** Runs a pipeline on the plugin the way `pipeline.run()` does (compile, checkCapabilities, create, submit, wait, dispose). */
  run(pipeline: PipelineDefinition, options?: { params?: Record<string, unknown>; storeDir?: string }): Promise<{ result: RunResult; storeDir: string }>;
  /** Creates the orchestrator runtime with the validated config and an artifact store in a fresh folder. */
  createOrchestrator(): Promise<{ orchestrator: Orchestrator; store: ArtifactStore }>;
  /** Opens the artifact store of `storeDir` (as runs use it). */
  openStore(storeDir: string): Promise<ArtifactStore>;
  cleanup(): Promise<void>;
}

/** Builds the context the checks run with. */
export function createConformanceContext(options: OrchestratorConformanceOptions): ConformanceContext {
  const plugin = options.plugin;
  const packageRoot = resolve(options.packageRoot ?? packageRootOf(undefined));
  const projectRoot = resolve(options.projectRoot ?? packageRoot);
  const dirs: string[] = [];
  const storeSpec = (dir: string) => options.artifactStore?.(dir) ?? localArtifactStore({ path: dir });
  const context: ConformanceContext = {
    options,
    plugin,
    flavor: plugin.flavor,
    config: (options.config ?? {}) as Record<string, unknown>,
    packageRoot,
    projectRoot,
    async tempDir(label) {
      const dir = await mkdtemp(join(options.tempRoot ?? tmpdir(), `orch-testkit-${plugin.flavor}-${label}-`));
      dirs.push(dir);
      return dir;
    },
    stack(storeDir) {
      return defineStack({
        name: "conformance",
        orchestrator: { name: "conformance", flavor: plugin.flavor, plugin, config: context.config },
        artifactStore: storeSpec(storeDir),
        ...(options.containerRegistry ? { containerRegistry: options.containerRegistry } : {}),
      });
    },
    async run(pipeline, runOptions = {}) {
      const storeDir = runOptions.storeDir ?? (await context.tempDir("store"));
      const result = await pipeline.run({ stack: context.stack(storeDir), projectRoot, params: runOptions.params ?? {}, handleSignals: false });
      return { result, storeDir };
    },
    async openStore(storeDir) {
      return (await createArtifactStore(storeSpec(storeDir), projectRoot)).store;
    },
    async createOrchestrator() {
      const store = await context.openStore(await context.tempDir("store"));
      const config = parseComponentConfig(plugin, context.config);
      const orchestrator = await plugin.create(config, { projectRoot, stackName: "conformance", artifactStore: store });
      return { orchestrator, store };
    },
    async cleanup() {
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
  return context;
}

/** The package.json of the plugin under test. */
export function readPackageJson(packageRoot: string): PackageJson | undefined {
  const file = join(packageRoot, "package.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as PackageJson) : undefined;
}

export interface PackageJson {
  name?: string;
  private?: boolean;
  keywords?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports?: unknown;
  main?: string;
}

/** The plugin's entry file: options.entry, else the package's "." export (source condition first). */
export function resolveEntry(context: ConformanceContext): string | undefined {
  if (context.options.entry) return context.options.entry.startsWith("file:") ? fileURLToPath(context.options.entry) : resolve(context.packageRoot, context.options.entry);
  const pkg = readPackageJson(context.packageRoot);
  if (!pkg?.name) return undefined;
  try {
    return fileURLToPath(moduleResolveFrom(pkg.name, pathToFileURL(join(context.packageRoot, "package.json")), ["@orch/source", "node", "import"]));
  } catch {
    return undefined;
  }
}

/** The modules that must not load before create(): options.sdkModules, else the package's dependencies. */
export function sdkModulesOf(context: ConformanceContext): string[] {
  if (context.options.sdkModules) return context.options.sdkModules;
  const pkg = readPackageJson(context.packageRoot);
  return Object.keys(pkg?.dependencies ?? {}).filter((name) => name !== "@orch/core" && name !== "zod");
}

/** The folder of the nearest package.json above `file` (the running test file), else the cwd. */
export function packageRootOf(file: string | undefined): string {
  let dir = file ? dirname(file) : process.cwd();
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}
