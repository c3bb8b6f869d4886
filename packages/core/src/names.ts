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

const FLAVOR_PATTERN = /^(@[a-z0-9][a-z0-9-._]*(\/[a-z][a-z0-9]*(-[a-z0-9]+)*)?|[a-z][a-z0-9]*(-[a-z0-9]+)*)$/;

/**
 * Canonical flavor id: trimmed, lower-case, `_` → `-` (`local_docker` → `local-docker`).
 * Validated because it becomes part of a package specifier we import.
 */
export function canonicalFlavor(flavor: string): string {
  const id = flavor.trim().toLowerCase().replace(/_/g, "-");
  if (!FLAVOR_PATTERN.test(id)) {
    throw new OrchError("E_NAME_INVALID", {
      message: `Invalid flavor ${JSON.stringify(flavor)}.`,
      hint: `Flavors are lower-case words joined by "-" or "_" (e.g. "local_docker"), optionally scoped ("@acme/gpu").`,
      flavor,
    });
  }
  return id;
}

/** `local-docker` → `local_docker`: the id users see in settings keys and the CLI (ZenML spelling). */
export function displayFlavor(flavor: string): string {
  return canonicalFlavor(flavor).replace(/-/g, "_");
}
