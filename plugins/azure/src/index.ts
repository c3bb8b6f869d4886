/**
 * @orch/plugin-azure — the Azure Blob Storage artifact store: the run journal, step logs and artifacts of
 * every run live in a blob container, so steps on other machines (containers, clusters) share them.
 *
 * @example
 * import { defineStack } from "@orch/core";
 * import { local } from "@orch/plugin-local";
 * import { azure } from "@orch/plugin-azure";
 * const stack = defineStack({ name: "cloud", orchestrator: local(), artifactStore: azure({ path: "az://ml-artifacts/orch", account: "mlstore" }) });
 *
 * @module
 */
import { defineArtifactStore, z, type ArtifactStorePlugin, type ComponentSpec } from "@orch/core/plugin";
import { ACCOUNT, accountProblem, parseAzurePath, PATH_EXAMPLE } from "./path.js";

export const FLAVOR = "azure";

/** A config field whose value is a credential: redacted by `orch artifact-store describe`, never in `describe()`. */
const secret = (description: string) => z.string().min(1).optional().meta({ secret: true, description: `${description} (secret)` });

export const configSchema = z
  .object({
    path: z
      .string()
      .superRefine((value, ctx) => {
        const parsed = parseAzurePath(value);
        if ("problem" in parsed) ctx.addIssue({ code: "custom", message: parsed.problem });
      })
      .describe(`Where runs, artifacts and the cache live: ${PATH_EXAMPLE}. The container must exist.`),
    account: z
      .string()
      .optional()
      .refine((value) => value === undefined || ACCOUNT.test(value), { error: (issue) => accountProblem(String(issue.input)) })
      .describe("Storage account name (https://<account>.blob.core.windows.net). Default: the abfs:// host, the connection string, or $AZURE_STORAGE_ACCOUNT."),
    connectionString: secret("Storage connection string (AccountName=…;AccountKey=… or BlobEndpoint=…;SharedAccessSignature=…). Default: $AZURE_STORAGE_CONNECTION_STRING"),
    accountKey: secret("Shared key of the storage account (needs account). Default: $AZURE_STORAGE_KEY"),
    sasToken: secret("Shared access signature with read, add, create, write, delete and list permissions on the container. Default: $AZURE_STORAGE_SAS_TOKEN"),
    endpoint: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("Blob service URL override, for Azurite (http://127.0.0.1:10000/devstoreaccount1) or sovereign clouds (https://<account>.blob.core.chinacloudapi.cn)."),
  })
  .strict()
  .superRefine((config, ctx) => {
    const given = (["connectionString", "accountKey", "sasToken"] as const).filter((key) => config[key] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({ code: "custom", path: [given[1]!], message: `give one credential, not ${given.join(" and ")}.` });
    }
    if (config.connectionString && config.endpoint) {
      ctx.addIssue({ code: "custom", path: ["endpoint"], message: "the connection string already names the endpoint (BlobEndpoint=…); drop endpoint or the connection string." });
    }
    const parsed = parseAzurePath(config.path);
    if (!("problem" in parsed) && parsed.account && config.account && parsed.account !== config.account) {
      ctx.addIssue({ code: "custom", path: ["account"], message: `account "${config.account}" differs from the account "${parsed.account}" in path ${config.path}.` });
    }
  });

export type AzureArtifactStoreConfig = z.output<typeof configSchema>;

const plugin: ArtifactStorePlugin<typeof configSchema> = defineArtifactStore({
  flavor: FLAVOR,
  remote: true,
  configSchema,
  // The Azure SDKs load only here, when a stack with this store is activated.
  create: async (config, context) => (await import("./store.js")).createAzureStore(config, context),
});

export default plugin;

/** Typed factory for stacks defined in code: `azure({ path: "az://container/prefix", account: "mlstore" })`. */
export function azure(config: z.input<typeof configSchema>): ComponentSpec<ArtifactStorePlugin> {
  return { flavor: FLAVOR, config: config as Record<string, unknown>, plugin: plugin as unknown as ArtifactStorePlugin };
}
