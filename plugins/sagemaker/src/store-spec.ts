/**
 * The artifact store as the processing jobs open it. It travels in one environment variable, and
 * SageMaker allows 256 characters per value, so keys the store's plugin would default to anyway are
 * left out. Credentials never travel: `describe()` has none, and the jobs get theirs from the execution role.
 */
import type { ArtifactStore, PluginContext } from "@orch/core/plugin";

export type StoreSpec = { flavor: string; config?: Record<string, unknown>; package?: string };

export async function compactStoreSpec(store: ArtifactStore, context: Pick<PluginContext, "projectRoot">): Promise<StoreSpec> {
  const spec = store.describe() as StoreSpec;
  const config = spec.config ?? {};
  let schema: { safeParse(value: unknown): { success: boolean; data?: unknown } };
  try {
    const { resolvePlugin } = await import("@orch/core/host");
    schema = (await resolvePlugin("artifact-store", spec.flavor, { projectRoot: context.projectRoot, ...(spec.package ? { package: spec.package } : {}) })).configSchema;
  } catch {
    return spec; // the store's plugin cannot be loaded from here: keep every key
  }
  const compact: Record<string, unknown> = { ...config };
  for (const key of Object.keys(config)) {
    const { [key]: _dropped, ...without } = compact;
    const parsed = schema.safeParse(without);
    // Dropped when the plugin fills in the same value by itself.
    if (parsed.success && JSON.stringify((parsed.data as Record<string, unknown>)[key]) === JSON.stringify(config[key])) delete compact[key];
  }
  return { ...spec, config: compact };
}

/** `s3://bucket/prefix` of an s3 store, for PipelineDefinitionS3Location. */
export function s3Location(spec: StoreSpec): { bucket: string; prefix: string } | undefined {
  const path = spec.flavor === "s3" ? spec.config?.path : undefined;
  const match = typeof path === "string" ? /^s3:\/\/([^/]+)\/?(.*?)\/*$/.exec(path) : null;
  return match ? { bucket: match[1]!, prefix: match[2]! } : undefined;
}
