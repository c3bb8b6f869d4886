import type { ArtifactStore, Snapshot } from "@orch/core/plugin";
import type { KubeClient } from "./client.js";
import type { KubernetesOrchestratorConfig } from "./config.js";
import type { ManifestInput } from "./manifests.js";

/** What the runtime's parts (jobs, schedules, logs) share: one config, one client, one store. */
export interface KubernetesContext {
  config: KubernetesOrchestratorConfig;
  client: KubeClient;
  store: ArtifactStore;
  /** The manifest input for a snapshot: config (with the built image), the pods' store, the stack. */
  manifestInput(snapshot: Snapshot): ManifestInput;
  /** Intervals still running; dispose() clears them. */
  timers: Set<NodeJS.Timeout>;
}
