/**
 * @orch/registry-azure — the `azure` container-registry flavor: Azure Container Registry. A
 * Microsoft Entra ID access token (DefaultAzureCredential, or one given in the config) is exchanged
 * at the registry's `/oauth2/exchange` for an ACR refresh token, the password of a push (user
 * `00000000-0000-0000-0000-000000000000`). `@azure/identity` loads only when a token is needed.
 *
 * Package name: `@orch/registry-azure`, never `@orch/plugin-azure` (the azure artifact store).
 *
 * @example
 * // orch container-registry register acr --flavor=azure --uri=myregistry.azurecr.io
 * import { azure } from "@orch/registry-azure";
 * const containerRegistry = azure({ uri: "myregistry.azurecr.io" });
 *
 * @module
 */
import { defineContainerRegistry, type ComponentSpec, type ContainerRegistryPlugin, type z } from "@orch/core/plugin";
import { FLAVOR, configSchema } from "./schema.js";

export { FLAVOR, configSchema, type AzureRegistryConfig } from "./schema.js";

const plugin = defineContainerRegistry({
  flavor: FLAVOR,
  configSchema,
  async create(config, context) {
    const { createAcrRegistry } = await import("./runtime.js");
    return createAcrRegistry(config, context);
  },
});
export default plugin;

/** Typed stack component: `defineStack({ …, containerRegistry: azure({ uri }) })`. */
export function azure(config: z.input<typeof configSchema>): ComponentSpec<ContainerRegistryPlugin> {
  return { flavor: FLAVOR, config: config as Record<string, unknown>, plugin: plugin as unknown as ContainerRegistryPlugin };
}
