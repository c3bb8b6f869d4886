/**
 * @orch/registry-gcp — the `gcp` container-registry flavor: Google Artifact Registry and GCR. The
 * password of a push is an OAuth access token from Application Default Credentials (user name
 * `oauth2accesstoken`), fetched when a push needs it; `google-auth-library` loads only then.
 *
 * @example
 * // orch container-registry register gar --flavor=gcp --uri=europe-west1-docker.pkg.dev/my-project/ml
 * import { gcp } from "@orch/registry-gcp";
 * const containerRegistry = gcp({ uri: "europe-west1-docker.pkg.dev/my-project/ml" });
 *
 * @module
 */
import { defineContainerRegistry, type ComponentSpec, type ContainerRegistryPlugin, type z } from "@orch/core/plugin";
import { FLAVOR, configSchema } from "./schema.js";

export { FLAVOR, configSchema, type GcpRegistryConfig } from "./schema.js";

const plugin = defineContainerRegistry({
  flavor: FLAVOR,
  configSchema,
  async create(config, context) {
    const { createGcpRegistry } = await import("./runtime.js"); // google-auth-library loads here
    return createGcpRegistry(config, context);
  },
});
export default plugin;

/** Typed stack component: `defineStack({ …, containerRegistry: gcp({ uri }) })`. */
export function gcp(config: z.input<typeof configSchema>): ComponentSpec<ContainerRegistryPlugin> {
  return { flavor: FLAVOR, config: config as Record<string, unknown>, plugin: plugin as unknown as ContainerRegistryPlugin };
}
