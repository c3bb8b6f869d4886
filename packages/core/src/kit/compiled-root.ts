import { setCompiledModuleRoot } from "../run/compiled-modules.js";
import { ORCH_ENV } from "./step-command.js";

export { compiledModulePath } from "../run/compiled-modules.js";

/**
 * Container flavors may compile the project's modules (and core) ahead of time into one folder and
 * start steps with `ORCH_COMPILED_ROOT=<folder>` (local_docker does, at submit): module
 * `src/steps.ts` is then loaded from `<folder>/<compiledModulePath("src/steps.ts")>.js` without a
 * TypeScript loader. `orch-entrypoint` calls this at start; a flavor's own bin that runs steps
 * calls it too. Returns the folder, if any.
 */
export function useCompiledRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = env[ORCH_ENV.compiledRoot] || undefined;
  setCompiledModuleRoot(root);
  return root;
}
