/**
 * @orch/plugin-gcs — the Google Cloud Storage artifact store: runs, journals, logs and artifacts
 * under `gs://bucket/prefix`, so steps on other machines (containers, clusters, managed pipelines)
 * read and write the same journal as the submitting laptop.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { local } from "@orch/plugin-local";
 * import { gcs } from "@orch/plugin-gcs";
 * const stack = defineStack({ name: "gcp", orchestrator: local(), artifactStore: gcs({ path: "gs://my-bucket/orch" }) });
 *
 * @module
 */
import { defineArtifactStore, z, type ArtifactStorePlugin, type ComponentSpec } from "@orch/core/plugin";
import { gcsPathProblem } from "./gcs-path.js";

export const FLAVOR = "gcs";

export const configSchema = z
  .object({
    path: z
      .string()
      .superRefine((path, ctx) => {
        const problem = gcsPathProblem(path);
        if (problem) ctx.addIssue({ code: "custom", message: `Invalid GCS path: ${problem}.` });
      })
      .describe("Where the store lives: gs://BUCKET/prefix. The bucket must exist; the prefix is created on first write."),
    project: z.string().min(1).optional().describe("Google Cloud project id (billing / quota project). Usually inferred from the credentials."),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe("Path to a service-account (or external-account) JSON key file. Relative paths resolve from the project root. Default: Application Default Credentials."),
    credentials: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())])
      .optional()
      .meta({ secret: true })
      .describe("Inline service-account JSON (secret: redacted by the CLI, never included in describe()). Prefer keyFile or Application Default Credentials."),
    apiEndpoint: z
      .string()
      .url()
      .optional()
      .describe("Cloud Storage JSON API endpoint, e.g. http://127.0.0.1:4443 for an emulator or a Private Service Connect endpoint. Without keyFile/credentials no auth header is sent to it."),
  })
  .strict();

export type GcsArtifactStoreConfig = z.output<typeof configSchema>;

const plugin = defineArtifactStore({
  flavor: FLAVOR,
  remote: true,
  configSchema,
  async create(config, context) {
    const { createGcsStore } = await import("./store.js");
    return createGcsStore(config, context);
  },
});

export default plugin;

/** Typed factory for stacks defined in code: `gcs({ path: "gs://my-bucket/orch" })`. */
export function gcs(config: z.input<typeof configSchema>): ComponentSpec<ArtifactStorePlugin> {
  return { flavor: FLAVOR, config: config as Record<string, unknown>, plugin: plugin as unknown as ArtifactStorePlugin };
}
