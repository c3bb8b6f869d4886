import { hashJson } from "../hash.js";
import { moduleGraphHash } from "./module-graph.js";

/** `function () { [native code] }`: what bound and built-in functions print, whatever they do. */
const NATIVE = /\{\s*\[native code\]\s*\}\s*$/;

/**
 * The code hash of a step, stored in the snapshot at compile time (so every process running the
 * step agrees) and part of its cache key:
 * - the step's module and the project modules it reaches (module-graph.ts), packages by name@version;
 * - the function's own text (bound and native functions, whose text is always the same, by name);
 * - with `cacheVersion` set, that version replaces the module graph: the user vouches for what the
 *   step's helpers do, and edits elsewhere in the project no longer invalidate its cache.
 */
export function stepCodeHash(step: { name: string; fn: (...args: never[]) => unknown; sourceFile: string | undefined; cacheVersion: string | undefined }): string {
  const text = Function.prototype.toString.call(step.fn);
  const fn = NATIVE.test(text) ? { native: step.fn.name || step.name } : text;
  if (step.cacheVersion !== undefined) return hashJson({ v: 2, fn, cacheVersion: step.cacheVersion });
  const module = step.sourceFile === undefined ? undefined : moduleGraphHash(step.sourceFile);
  return hashJson({ v: 2, fn, module: module ?? null });
}
