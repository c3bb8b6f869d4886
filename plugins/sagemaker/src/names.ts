/**
 * SageMaker's names: pipeline names are letters and digits joined by single hyphens (no "_"), step and
 * parameter names `[A-Za-z0-9-_]{1,64}`. orch names that fit are used as they are; any other is
 * rewritten deterministically and suffixed with a hash of the original, so two orch names never map
 * to the same SageMaker name.
 */
import { OrchError, sha256 } from "@orch/core/plugin";
import { FLAVOR } from "./config.js";

export const STEP_NAME_PATTERN = /^[A-Za-z0-9\-_]{1,64}$/;
export const PIPELINE_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
/** SageMaker's pipeline name limit is 256; the pipeline's own part keeps room for the prefix. */
const PIPELINE_NAME_MAX = 256;

const shortHash = (text: string) => sha256(text).slice(0, 8);

/** A step id as a SageMaker step name: itself when it fits, else `<letters, digits, - and _>-<hash>`. */
export function sageMakerStepName(stepId: string): string {
  if (STEP_NAME_PATTERN.test(stepId)) return stepId;
  const cleaned = stepId.replace(/[^A-Za-z0-9\-_]+/g, "-").slice(0, 55);
  return `${cleaned || "step"}-${shortHash(stepId)}`;
}

/**
 * SageMaker step names of every step, checked to be distinct (a rewritten name could in theory equal
 * another step's own id).
 */
export function stepNames(stepIds: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const owners = new Map<string, string>();
  for (const id of stepIds) {
    const name = sageMakerStepName(id);
    const other = owners.get(name);
    if (other !== undefined) {
      throw new OrchError("E_SNAPSHOT_INVALID", {
        flavor: FLAVOR,
        step: id,
        message: `Steps "${other}" and "${id}" would both be SageMaker step "${name}".`,
        hint: "Give one of the invocations another id (step options: id).",
      });
    }
    owners.set(name, id);
    names.set(id, name);
  }
  return names;
}

/** `prefix-pipeline` as a SageMaker pipeline name; "_" and other characters become "-", plus a hash when the name changed. */
export function sageMakerPipelineName(prefix: string, pipeline: string): string {
  const wanted = `${prefix}-${pipeline}`;
  if (PIPELINE_NAME_PATTERN.test(wanted) && wanted.length <= PIPELINE_NAME_MAX) return wanted;
  const cleaned = pipeline.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, PIPELINE_NAME_MAX - prefix.length - 11);
  return `${prefix}-${cleaned ? `${cleaned}-` : ""}${shortHash(pipeline)}`;
}

/** A pipeline parameter name: SageMaker's pattern, rewritten like step names when needed. */
export const sageMakerParameterName = sageMakerStepName;
