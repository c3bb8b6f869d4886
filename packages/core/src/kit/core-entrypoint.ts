import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { OrchError } from "../errors.js";
import { displayFlavor } from "../names.js";

/**
 * The folder of the `@orch/core` a project uses (its real path, so a container that mounts or copies
 * the project at the same path resolves the same files). Resolved from the project, never from the
 * plugin: the step process must load the core the pipeline was compiled with.
 */
export function findCoreDirectory(projectRoot: string, flavor?: string): string {
  // The project's own node_modules chain only: Node's resolver would also follow NODE_PATH (which
  // pnpm's bin shims set to the workspace's hoisted packages) and find a core the project does not have.
  for (let dir = resolve(projectRoot); ; dir = dirname(dir)) {
    const manifest = join(dir, "node_modules", "@orch", "core", "package.json");
    if (existsSync(manifest)) return dirname(realpathSync(manifest));
    if (dirname(dir) === dir) break;
  }
  throw new OrchError("E_SOURCE_LOAD", {
    ...(flavor ? { flavor } : {}),
    message: `${flavor ? `${displayFlavor(flavor)}: ` : ""}@orch/core is not installed in the project at ${projectRoot}, so step processes cannot run orch-entrypoint.`,
    hint: "Add @orch/core (and tsx for TypeScript steps) to the project's dependencies.",
  });
}

export interface EntrypointCommandOptions {
  /** The node binary (default `node`; `process.execPath` for a child of this process). */
  node?: string;
  /**
   * Whether core's TypeScript source may be used: true when the command runs where `coreDir`'s files
   * are (this machine, a container that mounts them); false for an image whose core is the published build.
   */
  source?: boolean;
  /** The tsx loader for `--import` when running from source (default `tsx`, resolved from the working directory). */
  tsx?: string;
  /** Extra Node.js flags, before the bin (`--max-old-space-size=4096`). */
  nodeOptions?: readonly string[];
}

/** The name of core's bin, and of its bundle when a container flavor compiles core ahead of time. */
export const ENTRYPOINT_NAME = "orch-entrypoint";

/** The files of a core folder a flavor starts or bundles: its TypeScript source in a checkout, else its build. */
export interface CoreFiles {
  /** True when the folder has core's source (a workspace checkout), so tsx or a bundler can use it. */
  fromSource: boolean;
  /** The orch-entrypoint bin. */
  bin: string;
  /** The worker thread that runs attempts of steps with a timeout (core looks for it next to the runner). */
  stepWorker: string;
  /** The `@orch/core` entry. */
  index: string;
  /** The `@orch/core/plugin` entry. */
  plugin: string;
}

export function coreFiles(coreDir: string, options: { source?: boolean } = {}): CoreFiles {
  const fromSource = options.source !== false && existsSync(join(coreDir, "src", "entrypoint", "bin.ts"));
  const file = (path: string) => join(coreDir, fromSource ? `src/${path}.ts` : `dist/${path}.js`);
  return { fromSource, bin: file("entrypoint/bin"), stepWorker: file("run/step-worker"), index: file("index"), plugin: file("plugin") };
}

/**
 * `node … orch-entrypoint`, the command before `step …`: core's TypeScript source through tsx when
 * core has its source (a workspace checkout: no build needed), else core's built bin.
 */
export function entrypointCommand(coreDir: string, options: EntrypointCommandOptions = {}): string[] {
  const node = options.node ?? "node";
  const flags = options.nodeOptions ?? [];
  const core = coreFiles(coreDir, options);
  if (core.fromSource) return [node, "--conditions=@orch/source", "--import", options.tsx ?? "tsx", ...flags, core.bin];
  return [node, ...flags, core.bin];
}
