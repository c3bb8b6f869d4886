/**
 * The one place that knows how flavors are named: the canonical id, how users may spell it, which
 * packages provide it, and which first-party packages this repository publishes. Core's plugin
 * resolution, the CLI (`orch integration …`, "did you mean") and the testkit's package check all
 * read it, so the rules cannot drift apart.
 */
import { OrchError } from "./errors.js";
import { closestMatch } from "./suggest.js";

/** A canonical flavor id, as a plugin declares it: lower-case kebab case (`local-docker`). */
export const FLAVOR_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

// Its source without anchors and with non-capturing groups, to build the patterns below from it.
const ID = FLAVOR_ID_PATTERN.source.slice(1, -1).replaceAll("(", "(?:");
/** What a user may name after canonicalisation: a flavor id, or a scoped one (`@acme/gpu`, `@acme`). */
const FLAVOR_INPUT_PATTERN = new RegExp(`^(@[a-z0-9][a-z0-9-._]*(\\/${ID})?|${ID})$`);

/**
 * Canonical flavor id: trimmed, lower-case, `_` → `-` (`local_docker` → `local-docker`).
 * Validated because it becomes part of a package specifier we import.
 */
export function canonicalFlavor(flavor: string): string {
  const id = flavor.trim().toLowerCase().replace(/_/g, "-");
  if (!FLAVOR_INPUT_PATTERN.test(id)) {
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

/**
 * Package names that provide a flavor, in the order core tries them: `@orch/plugin-<id>`, then
 * `orch-plugin-<id>`; a scoped flavor `@scope/x` is `@scope/orch-plugin-x`.
 */
export function pluginCandidates(flavor: string): string[] {
  const id = canonicalFlavor(flavor);
  if (id.startsWith("@")) {
    const [scope, name] = id.split("/");
    return [name ? `${scope}/orch-plugin-${name}` : `${scope}/orch-plugin`];
  }
  return [`@orch/plugin-${id}`, `orch-plugin-${id}`];
}

const PLUGIN_PACKAGE = new RegExp(`^(?:@orch\\/plugin-(${ID})|orch-plugin-(${ID})|(@[a-z0-9][a-z0-9-._]*)\\/orch-plugin-(${ID}))$`);

/**
 * The canonical flavor a package provides by naming convention (`@orch/plugin-local-docker` →
 * `local-docker`, `@acme/orch-plugin-gpu` → `@acme/gpu`), or undefined for any other name.
 */
export function flavorOfPackage(name: string): string | undefined {
  const m = PLUGIN_PACKAGE.exec(name);
  if (!m) return undefined;
  return m[1] ?? m[2] ?? `${m[3]}/${m[4]}`;
}

/** Whether core would find `flavor` in a package called `name` (any scope's `orch-plugin-<id>` counts). */
export function isPackageForFlavor(name: string, flavor: string): boolean {
  const provided = flavorOfPackage(name);
  if (provided === undefined) return false;
  const id = canonicalFlavor(flavor);
  return provided === id || (provided.startsWith("@") && provided.split("/")[1] === id);
}

export type FlavorKind = "orchestrator" | "artifact-store";

export interface FirstPartyFlavor {
  /** Canonical id. */
  flavor: string;
  kind: FlavorKind;
  /** The package this repository publishes for it. */
  package: string;
}

const firstParty = (flavor: string, kind: FlavorKind): FirstPartyFlavor => ({ flavor, kind, package: `@orch/plugin-${flavor}` });

/**
 * The flavors whose plugin packages this repository publishes (its `plugins/` folders; a test keeps
 * the two in step). "Did you mean" and install hints only ever name these: a planned flavor is not
 * here until its package exists. The `local` artifact store is built into core and has no package.
 */
export const FIRST_PARTY_FLAVORS: readonly FirstPartyFlavor[] = Object.freeze([
  firstParty("local", "orchestrator"),
  firstParty("local-docker", "orchestrator"),
  firstParty("kubernetes", "orchestrator"),
  firstParty("sagemaker", "orchestrator"),
  firstParty("kubeflow", "orchestrator"),
  firstParty("vertex", "orchestrator"),
  firstParty("azureml", "orchestrator"),
  firstParty("databricks", "orchestrator"),
  firstParty("airflow", "orchestrator"),
  firstParty("s3", "artifact-store"),
  firstParty("gcs", "artifact-store"),
  firstParty("azure", "artifact-store"),
]);

/** The first-party entry for a flavor (any spelling), if this repository publishes one. */
export function firstPartyFlavor(flavor: string, kind?: FlavorKind): FirstPartyFlavor | undefined {
  const id = canonicalFlavor(flavor);
  return FIRST_PARTY_FLAVORS.find((entry) => entry.flavor === id && (kind === undefined || entry.kind === kind));
}

/** The first-party flavor of `kind` closest to a misspelt `flavor` ("kubernets" → "kubernetes"), if any is close. */
export function suggestFlavor(flavor: string, kind: FlavorKind): string | undefined {
  const id = canonicalFlavor(flavor);
  const ids = FIRST_PARTY_FLAVORS.filter((entry) => entry.kind === kind).map((entry) => entry.flavor);
  const match = closestMatch(id, ids, { maxDistance: 2 });
  return match === id ? undefined : match;
}
