import { OrchError } from "./errors.js";

/** Step, pipeline, invocation and stack names. They end up in file names, so nothing else is accepted. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export function assertValidName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new OrchError("E_NAME_INVALID", {
      message: `Invalid ${kind} name ${JSON.stringify(name)}: it must match ${NAME_PATTERN.source}.`,
      hint: `Use letters, digits, "_" and "-", start with a letter or "_", at most 63 characters (e.g. "load_data").`,
    });
  }
}

/**
 * Run ids: the characters of names (they become folder names, Kubernetes label values and CLI
 * arguments), and — unlike names — they may start with a digit, as the generated ids do
 * (`20261122-030015-123-k3f9x2`).
 */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;

export function assertValidRunId(runId: unknown): asserts runId is string {
  if (typeof runId !== "string" || !RUN_ID_PATTERN.test(runId)) {
    const shown = typeof runId === "string" && runId.length > 80 ? `${JSON.stringify(runId.slice(0, 60))}… (${runId.length} characters)` : JSON.stringify(runId);
    throw new OrchError("E_NAME_INVALID", {
      message: `Invalid run id ${shown}: it must match ${RUN_ID_PATTERN.source}.`,
      hint: `Use letters, digits, "_" and "-", at most 63 characters (e.g. "nightly-2026-11-29"), or leave the run id out to get a generated one.`,
    });
  }
}

// Flavor names live with the rest of the naming rules for plugins.
export { canonicalFlavor, displayFlavor } from "./flavors.js";
