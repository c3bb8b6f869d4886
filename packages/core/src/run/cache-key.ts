import { hashJson } from "../hash.js";
import type { SnapshotStep } from "../snapshot/snapshot.js";

/**
 * The cache key of a step execution (docs/architecture.md): step name, code hash (+ cacheVersion), literal
 * parameters, the content hashes of input artifacts and their materializers, and the settings that
 * change results. Resources, retries and timeouts do not change what a step computes, so they are out.
 */
export function computeCacheKey(step: SnapshotStep, inputArtifacts: ({ contentHash: string; materializer: string } | undefined)[]): string {
  const inputs = step.inputs.map((binding, index) => {
    if (binding.kind === "artifact") {
      const artifact = inputArtifacts[index]!;
      return { artifact: artifact.contentHash, materializer: artifact.materializer };
    }
    return binding.kind === "param" ? { param: binding.value } : { undefined: true };
  });
  return hashJson({
    v: 1,
    name: step.name,
    codeHash: step.codeHash,
    cacheVersion: step.settings.cacheVersion ?? null,
    inputs,
    outputs: step.outputs,
  });
}
