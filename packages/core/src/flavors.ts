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

export type FlavorKind = "orchestrator" | "artifact-store" | "container-registry";

/**
 * The word a component kind's package names carry. Orchestrators and artifact stores share `plugin`
 * (`@orch/plugin-s3` is the s3 store, published before registries existed, and stays so); container
 * registries have their own, because their flavors are named after clouds (`aws`, `gcp`, `azure`)
 * and `azure` the registry must never load `@orch/plugin-azure` the artifact store.
 */
const KIND_WORD: Record<FlavorKind, string> = { orchestrator: "plugin", "artifact-store": "plugin", "container-registry": "registry" };

/**
 * Package names that provide a flavor of `kind`, in the order core tries them: `@orch/plugin-<id>`,
 * then `orch-plugin-<id>`; a scoped flavor `@scope/x` is `@scope/orch-plugin-x`. Container registries
 * use `registry` instead of `plugin`: `@orch/registry-aws`, `orch-registry-<id>`, `@scope/orch-registry-x`.
 */
export function pluginCandidates(flavor: string, kind: FlavorKind = "orchestrator"): string[] {
  const id = canonicalFlavor(flavor);
  const word = KIND_WORD[kind];
  if (id.startsWith("@")) {
    const [scope, name] = id.split("/");
    return [name ? `${scope}/orch-${word}-${name}` : `${scope}/orch-${word}`];
  }
  return [`@orch/${word}-${id}`, `orch-${word}-${id}`];
}

const packagePattern = (word: string) => new RegExp(`^(?:@orch\\/${word}-(${ID})|orch-${word}-(${ID})|(@[a-z0-9][a-z0-9-._]*)\\/orch-${word}-(${ID}))$`);
const PACKAGE_PATTERNS: Record<string, RegExp> = { plugin: packagePattern("plugin"), registry: packagePattern("registry") };

/**
 * The canonical flavor a package provides by naming convention (`@orch/plugin-local-docker` →
 * `local-docker`, `@acme/orch-plugin-gpu` → `@acme/gpu`; with kind `container-registry`,
 * `@orch/registry-aws` → `aws`), or undefined for any other name.
 */
export function flavorOfPackage(name: string, kind: FlavorKind = "orchestrator"): string | undefined {
  const m = PACKAGE_PATTERNS[KIND_WORD[kind]]!.exec(name);
  if (!m) return undefined;
  return m[1] ?? m[2] ?? `${m[3]}/${m[4]}`;
}

/** Whether core would find `flavor` of `kind` in a package called `name` (any scope's `orch-<word>-<id>` counts). */
export function isPackageForFlavor(name: string, flavor: string, kind: FlavorKind = "orchestrator"): boolean {
  const provided = flavorOfPackage(name, kind);
  if (provided === undefined) return false;
  const id = canonicalFlavor(flavor);
  return provided === id || (provided.startsWith("@") && provided.split("/")[1] === id);
}

export interface FirstPartyFlavor {
  /** Canonical id. */
  flavor: string;
  kind: FlavorKind;
  /** The package this repository publishes for it. */
  package: string;
}

const firstParty = (flavor: string, kind: FlavorKind): FirstPartyFlavor => ({ flavor, kind, package: pluginCandidates(flavor, kind)[0]! });

/**
 * The flavors whose plugin packages this repository publishes (its `plugins/` folders; a test keeps
 * the two in step). "Did you mean" and install hints only ever name these: a planned flavor is not
 * here until its package exists. The `local` artifact store and the `default`, `dockerhub` and
 * `github` container registries are built into core and have no package.
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
  firstParty("aws", "container-registry"),
  firstParty("gcp", "container-registry"),
  firstParty("azure", "container-registry"),
]);

/**
 * Container-registry flavors built into core (no package): any OCI registry with basic auth or none,
 * Docker Hub and GHCR. They need nothing but a user name and a password or token, so a package each
 * would only add an install step.
 */
export const BUILT_IN_REGISTRY_FLAVORS: readonly string[] = Object.freeze(["default", "dockerhub", "github"]);

/** The first-party entry for a flavor (any spelling), if this repository publishes one. */
export function firstPartyFlavor(flavor: string, kind?: FlavorKind): FirstPartyFlavor | undefined {
  const id = canonicalFlavor(flavor);
  return FIRST_PARTY_FLAVORS.find((entry) => entry.flavor === id && (kind === undefined || entry.kind === kind));
}

/** The first-party flavor of `kind` closest to a misspelt `flavor` ("kubernets" → "kubernetes"), if any is close. */
export function suggestFlavor(flavor: string, kind: FlavorKind): string | undefined {
  const id = canonicalFlavor(flavor);
  const ids = [...(kind === "container-registry" ? BUILT_IN_REGISTRY_FLAVORS : []), ...FIRST_PARTY_FLAVORS.filter((entry) => entry.kind === kind).map((entry) => entry.flavor)];
  const match = closestMatch(id, ids, { maxDistance: 2 });
  return match === id ? undefined : match;
}
