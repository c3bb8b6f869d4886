/**
 * @orch/plugin-s3 — the `s3` artifact store: runs, journals and artifacts in an S3 bucket (AWS, or
 * any S3-compatible server through `endpoint`), so steps on other machines share them. The AWS SDK
 * loads only when a store is created.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { local } from "@orch/plugin-local";
 * import { s3 } from "@orch/plugin-s3";
 * const stack = defineStack({ name: "remote", orchestrator: local(), artifactStore: s3({ path: "s3://my-bucket/orch", region: "eu-west-1" }) });
 *
 * @module
 */
import { defineArtifactStore, type ArtifactStorePlugin, type ComponentSpec, type z } from "@orch/core/plugin";
import { configSchema, FLAVOR } from "./schema.js";

export { configSchema, FLAVOR, parseS3Path, bucketNameProblem, type S3ArtifactStoreConfig } from "./schema.js";

const plugin = defineArtifactStore({
  flavor: FLAVOR,
  configSchema,
  remote: true,
  async create(config) {
    const { createS3Store } = await import("./store.js");
    return createS3Store(config);
  },
});

export default plugin;

/** Typed factory for stacks defined in code: `s3({ path: "s3://bucket/prefix" })`. */
export function s3(config: z.input<typeof configSchema>): ComponentSpec<ArtifactStorePlugin> {
  return { flavor: FLAVOR, config: config as Record<string, unknown>, plugin: plugin as unknown as ArtifactStorePlugin };
}
