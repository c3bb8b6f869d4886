import { OrchError } from "../errors.js";
import { displayFlavor } from "../names.js";
import { scheduleKind, type Schedule } from "../settings/index.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import { validateSettings } from "../dsl/settings.js";
import type { OrchestratorPlugin } from "./plugin.js";

export interface CapabilityCheckOptions {
  /** The schedule about to be created, when scheduling rather than running now. */
  schedule?: Schedule;
  artifactStoreRemote: boolean;
  hasContainerRegistry: boolean;
  /** false: settings the flavor cannot honour become warnings instead of errors. */
  strict?: boolean;
  warn?: (message: string) => void;
}

/**
 * Refuses, before anything is submitted, what the flavor cannot do: nothing is silently ignored.
 * Also validates each step's settings for this flavor against the plugin's settingsSchema.
 */
export function checkCapabilities(plugin: OrchestratorPlugin, snapshot: Snapshot, options: CapabilityCheckOptions): void {
  const can = plugin.capabilities;
  const flavor = displayFlavor(plugin.flavor); // as users type it: local_docker
  const refuse = (message: string, hint: string) => {
    throw new OrchError("E_CAPABILITY_UNSUPPORTED", { flavor: plugin.flavor, message, hint });
  };
  if (snapshot.pipeline.dynamic && !can.dynamic) {
    refuse(`Pipeline "${snapshot.pipeline.name}" is dynamic, and the ${flavor} orchestrator cannot run dynamic pipelines.`, "Use a flavor with dynamic support (local, local_docker, kubernetes) or make the pipeline static.");
  }
  if (options.schedule) {
    const kind = scheduleKind(options.schedule);
    const supported = kind === "cron" ? can.schedules.cron : kind === "interval" ? can.schedules.interval : can.schedules.once;
    if (!supported) refuse(`The ${flavor} orchestrator cannot run ${kind} schedules.`, "Use another schedule kind, or a flavor that supports it (see the flavor's README, Capabilities).");
  }
  if (can.requires.remoteArtifactStore && !options.artifactStoreRemote) {
    refuse(`The ${flavor} orchestrator runs steps on other machines and needs a remote artifact store; this stack's is local.`, "Register a remote artifact store (e.g. s3, gcs) and add it to the stack with orch stack update -a.");
  }
  if (can.requires.containerRegistry && !options.hasContainerRegistry) {
    refuse(`The ${flavor} orchestrator needs a container registry in the stack.`, "Register one (orch container-registry register NAME --flavor=default --uri=…) and add it with orch stack update -c NAME.");
  }
  let warnedRecorded = false;
  for (const id of snapshot.order) {
    const step = snapshot.steps[id]!;
    const hasResources = step.settings.resources !== undefined && Object.keys(step.settings.resources).length > 0;
    if (hasResources && can.resources === "recorded" && !warnedRecorded) {
      warnedRecorded = true;
      options.warn?.(`the ${flavor} orchestrator records resource settings (step "${id}" …) but does not enforce them.`);
    }
    if (hasResources && can.resources === "none") {
      const message = `Step "${id}" sets resources, which the ${flavor} orchestrator cannot honour.`;
      if (options.strict === false) options.warn?.(`${message} (ignored because strict: false)`);
      else refuse(message, "Remove the resources setting, run with strict: false to ignore it, or use a flavor that honours resources.");
    }
    const flavorSettings = step.settings.flavors[plugin.flavor]; // keyed by the canonical id
    if (flavorSettings !== undefined) {
      if (!plugin.settingsSchema) refuse(`Step "${id}" has settings for ${flavor}, but the ${flavor} orchestrator takes no settings.`, `Remove settings.${flavor} from the step.`);
      else validateSettings(plugin.settingsSchema, flavorSettings, `step "${id}" (settings.${flavor})`);
    }
  }
}
