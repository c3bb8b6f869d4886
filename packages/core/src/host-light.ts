/**
 * `@orch/core/host/light`: the part of the host API that loads nothing but Node built-ins (no zod, no
 * runner, no plugin loader), for the quick paths of a host — `orch run list` reconciling runs whose
 * process died, `orch integration list`, "did you mean". Everything here is also in `@orch/core/host`.
 *
 * @example
 * import { isProcessAlive, flavorOfPackage } from "@orch/core/host/light";
 * if (!isProcessAlive(record.pid, record.pidStartTime)) markInterrupted(record);
 * flavorOfPackage("@orch/plugin-local-docker"); // "local-docker"
 *
 * @module
 */
export { processStartTime, isProcessAlive } from "./run/process-identity.js";
export {
  BUILT_IN_REGISTRY_FLAVORS,
  FIRST_PARTY_FLAVORS,
  FLAVOR_ID_PATTERN,
  canonicalFlavor,
  displayFlavor,
  firstPartyFlavor,
  flavorOfPackage,
  isPackageForFlavor,
  pluginCandidates,
  suggestFlavor,
  type FirstPartyFlavor,
  type FlavorKind,
} from "./flavors.js";
export { closestMatch } from "./suggest.js";
export { findUp } from "./project.js";
export { parseStepJournal, stepJournalLine } from "./store/step-journal-format.js";
export { detectPackageManager, installCommand, type PackageManager } from "./plugins/package-manager.js";
