/**
 * @orch/plugin-azureml — the Azure Machine Learning orchestrator. A run is one Azure ML pipeline job of
 * command jobs, one per step, each running `orch-entrypoint step` in an environment made from the
 * project image; the submitting process follows the run live through its journal and the child jobs.
 * Schedules become Azure ML job schedules.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { azureml } from "@orch/plugin-azureml";
 * import { azure } from "@orch/plugin-azure";
 * const stack = defineStack({
 *   name: "aml",
 *   orchestrator: azureml({ subscriptionId: "…", resourceGroup: "ml", workspace: "ws", computeTarget: "cpu-cluster", image: "myacr.azurecr.io/training:1.0" }),
 *   artifactStore: azure({ path: "az://orch/runs" }),
 * });
 *
 * @module
 */
import { componentFactory, defineOrchestrator } from "@orch/core/plugin";
import { FLAVOR, configSchema, settingsSchema } from "./config.js";

export { FLAVOR, configSchema, settingsSchema } from "./config.js";
export type { AzureMLOrchestratorConfig, AzureMLOrchestratorConfigInput, AzureMLStepSettings } from "./config.js";

const plugin = defineOrchestrator({
  flavor: FLAVOR,
  configSchema,
  settingsSchema,
  capabilities: {
    // A pipeline job is a fixed graph of command jobs, submitted whole.
    dynamic: false,
    // Job schedules: a Cron trigger (5 fields + a Windows time zone) or a Recurrence trigger for intervals.
    schedules: { cron: true, interval: true, once: false, manage: true },
    // Azure ML command nodes have no retry policy: orch's step runner retries inside the command job.
    retries: "runner",
    // Resources choose a VM size (instance_type) from the plugin's table: rounded up to a size.
    resources: "mapped",
    stop: true,
    logs: true,
    parallel: true,
    // Command jobs run on Azure compute: they can reach neither this machine's files nor its images.
    requires: { remoteArtifactStore: true, containerRegistry: false },
  },
  runtime: () => import("./runtime.js"),
});

export default plugin;

/** Typed factory for stacks defined in code: `azureml({ subscriptionId, resourceGroup, workspace, computeTarget, image })`. */
export const azureml = componentFactory(plugin);
