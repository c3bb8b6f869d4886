import { secret, z } from "@orch/core/plugin";

export const FLAVOR = "azure";

export const configSchema = z
  .object({
    uri: z.string().min(1).describe("ACR login server, e.g. myregistry.azurecr.io (optionally /namespace)."),
    tenantId: z.string().optional().describe("Microsoft Entra tenant of the registry. Default: the credential's tenant."),
    accessToken: secret(z.string().optional()).describe("A Microsoft Entra access token to exchange, e.g. {{env.AZURE_ACCESS_TOKEN}} (from az account get-access-token). Default: DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI)."),
    authEndpoint: z.string().url().optional().describe("Where the registry's /oauth2/exchange endpoint lives. Default: https://<login server>."),
  })
  .strict();

export type AzureRegistryConfig = z.output<typeof configSchema>;
