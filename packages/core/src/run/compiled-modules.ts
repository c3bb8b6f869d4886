let compiledRoot: string | undefined;

/**
 * A folder where the project's modules were compiled ahead of time (`src/steps.ts` →
 * `<root>/src/steps.js`, e.g. by a container flavor at submit): loading those skips the TypeScript
 * loader, which dominates a step process's start-up. Who sets it, and from what, is the plugin
 * kit's business (kit/compiled-root.ts); the loader (load-source.ts) only follows it, and a step
 * worker thread gets it from its parent (isolated-attempt.ts). No imports: any layer may read it.
 */
export function setCompiledModuleRoot(root: string | undefined): void {
  compiledRoot = root;
}

/** The folder set with {@link setCompiledModuleRoot}, if any. */
export function compiledModuleRoot(): string | undefined {
  return compiledRoot;
}

/**
 * Where a module of the snapshot goes in a precompiled bundle, without extension:
 * `src/steps.ts` → `src/steps`; modules outside the project keep their place under `__up__/`.
 */
export function compiledModulePath(modulePath: string): string {
  return modulePath
    .replace(/\.(c|m)?(j|t)sx?$/, "")
    .split("/")
    .map((part) => (part === ".." ? "__up__" : part))
    .join("/");
}
