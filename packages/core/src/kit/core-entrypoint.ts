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

/**
 * `node … orch-entrypoint`, the command before `step …`: core's TypeScript source through tsx when
 * core has its source (a workspace checkout: no build needed), else core's built bin.
 */
export function entrypointCommand(coreDir: string, options: EntrypointCommandOptions = {}): string[] {
  const node = options.node ?? "node";
  const flags = options.nodeOptions ?? [];
  const source = join(coreDir, "src", "entrypoint", "bin.ts");
  if (options.source !== false && existsSync(source)) return [node, "--conditions=@orch/source", "--import", options.tsx ?? "tsx", ...flags, source];
  return [node, ...flags, join(coreDir, "dist", "entrypoint", "bin.js")];
}
