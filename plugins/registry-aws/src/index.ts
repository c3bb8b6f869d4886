/**
 * @orch/registry-aws — the `aws` container-registry flavor: Amazon ECR. Credentials come from ECR's
 * GetAuthorizationToken (AWS default credential chain, or keys in the config) when a push needs
 * them; missing repositories are created. `@aws-sdk/client-ecr` loads only then.
 *
 * @example
 * // orch container-registry register ecr --flavor=aws --uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com
 * import { aws } from "@orch/registry-aws";
 * const containerRegistry = aws({ uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" });
 *
 * @module
 */
import { defineContainerRegistry, type ComponentSpec, type ContainerRegistryPlugin, type z } from "@orch/core/plugin";
import { FLAVOR, configSchema } from "./schema.js";

export { FLAVOR, configSchema, regionOfUri, type AwsRegistryConfig } from "./schema.js";

const plugin = defineContainerRegistry({
  flavor: FLAVOR,
  configSchema,
  async create(config, context) {
    const { createEcrRegistry } = await import("./runtime.js"); // the AWS SDK loads here, not with the declaration
    return createEcrRegistry(config, context);
  },
});
export default plugin;

/** Typed stack component: `defineStack({ …, containerRegistry: aws({ uri }) })`. */
export function aws(config: z.input<typeof configSchema>): ComponentSpec<ContainerRegistryPlugin> {
  return { flavor: FLAVOR, config: config as Record<string, unknown>, plugin: plugin as unknown as ContainerRegistryPlugin };
}
