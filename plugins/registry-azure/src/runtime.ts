import { OrchError, registryHost, resolveRegistrySecret, type ContainerRegistry, type RegistryCredentials } from "@orch/core/plugin";
import { FLAVOR, type AzureRegistryConfig } from "./schema.js";

/** The user name ACR expects with a refresh token as the password. */
export const ACR_REFRESH_TOKEN_USER = "00000000-0000-0000-0000-000000000000";
const ARM_SCOPE = "https://management.azure.com/.default";

/** Opens an ACR registry: an Entra token is exchanged for an ACR refresh token when a push needs one. */
export function createAcrRegistry(config: AzureRegistryConfig, _context: { projectRoot: string }): ContainerRegistry {
  const host = registryHost(config.uri, FLAVOR);
  const authEndpoint = (config.authEndpoint ?? `https://${host}`).replace(/\/+$/, "");
  const credentialSource = config.accessToken
    ? `an Entra ID token from the component config (accessToken), exchanged at ${authEndpoint}/oauth2/exchange`
    : `DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI), exchanged at ${authEndpoint}/oauth2/exchange`;
  let cached: { credentials: RegistryCredentials; expiresAt: number } | undefined;

  const entraToken = async (): Promise<string> => {
    const given = resolveRegistrySecret(config.accessToken, FLAVOR, "accessToken").value;
    if (given) return given;
    // @azure/identity loads only here: an explicit token never needs it.
    const { DefaultAzureCredential } = await import("@azure/identity");
    const credential = new DefaultAzureCredential(config.tenantId ? { tenantId: config.tenantId } : {});
    const token = await credential.getToken(ARM_SCOPE);
    return token.token;
  };

  return {
    flavor: FLAVOR,
    uri: config.uri.replace(/\/+$/, ""),
    credentialSource,
    async credentials() {
      if (cached && cached.expiresAt - Date.now() > 5 * 60_000) return cached.credentials;
      let aad: string;
      try {
        aad = await entraToken();
      } catch (cause) {
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `Could not get a Microsoft Entra ID token for ${host} via ${credentialSource}: ${(cause as Error)?.message ?? cause}`,
          hint: "Sign in (az login), set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or set accessToken: {{env.AZURE_ACCESS_TOKEN}}.",
          cause,
        });
      }
      const form = new URLSearchParams({ grant_type: "access_token", service: host, access_token: aad, ...(config.tenantId ? { tenant: config.tenantId } : {}) });
      let response: Response;
      try {
        response = await fetch(`${authEndpoint}/oauth2/exchange`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
      } catch (cause) {
        throw new OrchError("E_REGISTRY_UNREACHABLE", {
          flavor: FLAVOR,
          message: `The ACR token endpoint ${authEndpoint}/oauth2/exchange of ${host} is not reachable: ${(cause as Error)?.message ?? cause}`,
          hint: "Check the registry name (uri) and the network path to it; set authEndpoint for a private endpoint.",
          cause,
        });
      }
      const body = (await response.json().catch(() => ({}))) as { refresh_token?: string; errors?: { message?: string }[] };
      if (!response.ok || !body.refresh_token) {
        const detail = body.errors?.map((e) => e.message).join("; ") || `HTTP ${response.status}`;
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `${host} refused to exchange the Entra ID token from ${credentialSource.split(",")[0]} for an ACR refresh token: ${detail}`,
          hint: "The identity needs the AcrPush role on the registry (az role assignment create --role AcrPush …), and the token must be for the registry's tenant (tenantId).",
        });
      }
      const credentials = { username: ACR_REFRESH_TOKEN_USER, password: body.refresh_token, source: credentialSource };
      cached = { credentials, expiresAt: expiryOf(body.refresh_token) };
      return credentials;
    },
  };
}

/** The `exp` of a JWT refresh token (ACR's are JWTs), else one hour from now. */
function expiryOf(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: number };
    if (typeof payload.exp === "number") return payload.exp * 1000;
  } catch {
    // not a JWT
  }
  return Date.now() + 60 * 60_000;
}
