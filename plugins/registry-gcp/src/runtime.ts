import { isAbsolute, resolve } from "node:path";
import { OrchError, registryHost, type ContainerRegistry } from "@orch/core/plugin";
import { GoogleAuth } from "google-auth-library";
import { FLAVOR, type GcpRegistryConfig } from "./schema.js";

/** Opens an Artifact Registry / GCR registry; the access token is fetched (and refreshed by the library) per push. */
export function createGcpRegistry(config: GcpRegistryConfig, context: { projectRoot: string }): ContainerRegistry {
  const host = registryHost(config.uri, FLAVOR);
  const keyFile = config.credentialsFile ? (isAbsolute(config.credentialsFile) ? config.credentialsFile : resolve(context.projectRoot, config.credentialsFile)) : undefined;
  const credentialSource = keyFile
    ? `Google access token from the credentials file ${keyFile}`
    : `Google Application Default Credentials (${process.env.GOOGLE_APPLICATION_CREDENTIALS ? `GOOGLE_APPLICATION_CREDENTIALS=${process.env.GOOGLE_APPLICATION_CREDENTIALS}` : "gcloud application-default login or the metadata server"})`;
  const auth = new GoogleAuth({ scopes: config.scopes, ...(keyFile ? { keyFile } : {}) });
  return {
    flavor: FLAVOR,
    uri: config.uri.replace(/\/+$/, ""),
    credentialSource,
    async credentials() {
      let token: string | null | undefined;
      try {
        token = await auth.getAccessToken();
      } catch (cause) {
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `Could not get a Google access token for ${host} from ${credentialSource}: ${(cause as Error)?.message ?? cause}`,
          hint: "Run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service-account key, or set credentialsFile.",
          cause,
        });
      }
      if (!token) {
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `${credentialSource} gave no access token for ${host}.`,
          hint: "Check the credentials (gcloud auth application-default print-access-token).",
        });
      }
      // Artifact Registry and GCR take an access token as the password of this fixed user.
      return { username: "oauth2accesstoken", password: token, source: credentialSource };
    },
  };
}
