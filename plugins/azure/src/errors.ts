import { OrchError } from "@orch/core/plugin";

/** What an error from the SDK (or the credential chain) says, in the terms a user can act on. */
export type Failure =
  | { kind: "not-found"; what: "container" | "blob" }
  | { kind: "exists" }
  | { kind: "auth"; detail: string }
  | { kind: "no-credentials"; detail: string }
  | { kind: "unreachable"; detail: string }
  | { kind: "conflict"; detail: string }
  | { kind: "other"; detail: string };

interface SdkError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
}

/** The service's error code (`ContainerNotFound`, `AuthenticationFailed` …), or a Node network code. */
export function errorCode(error: unknown): string | undefined {
  const e = error as SdkError | undefined;
  return e?.details?.errorCode ?? e?.code;
}

export function classify(error: unknown): Failure {
  const e = (error ?? {}) as SdkError;
  const code = errorCode(error) ?? "";
  const detail = firstLine(e.message ?? String(error));
  if (e.name === "CredentialUnavailableError" || e.name === "AggregateAuthenticationError" || e.name === "AuthenticationRequiredError") {
    return { kind: "no-credentials", detail };
  }
  if (/Bearer token authentication is not permitted for non-TLS/i.test(detail)) return { kind: "no-credentials", detail };
  if (code === "ContainerNotFound") return { kind: "not-found", what: "container" };
  if (code === "BlobNotFound" || (e.statusCode === 404 && !code)) return { kind: "not-found", what: "blob" };
  if (code === "BlobAlreadyExists" || code === "ConditionNotMet" || e.statusCode === 412) return { kind: "exists" };
  if (e.statusCode === 401 || e.statusCode === 403 || /^Authentication|^Authorization|^InsufficientAccountPermissions|^AccountIsDisabled/.test(code)) {
    return { kind: "auth", detail: code ? `${code}: ${detail}` : detail };
  }
  if (/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|REQUEST_SEND_ERROR)$/.test(code) || e.name === "AbortError") {
    return { kind: "unreachable", detail: code && !detail.includes(code) ? `${code}: ${detail}` : detail };
  }
  if (code === "InvalidBlockList" || code === "InvalidBlobType" || code === "BlockCountExceedsLimit" || code === "LeaseIdMissing") return { kind: "conflict", detail: `${code}: ${detail}` };
  return { kind: "other", detail: code ? `${code}: ${detail}` : detail };
}

export interface StoreLabel {
  /** The store's path as configured, e.g. az://ml/orch. */
  uri: string;
  container: string;
  /** The blob service URL the store talks to. */
  endpoint: string;
  /** How it authenticates, e.g. "a connection string ($AZURE_STORAGE_CONNECTION_STRING)". */
  auth: string;
}

/**
 * One clear error for a store that cannot be used: names the flavor, the path, the endpoint and the fix.
 * `doing` says what was attempted ("writing runs/…/run.json", "the preflight write").
 */
export function storeError(error: unknown, store: StoreLabel, doing: string): OrchError {
  if (error instanceof OrchError) return error;
  const failure = classify(error);
  const at = `azure artifact store ${store.uri} (${store.endpoint})`;
  switch (failure.kind) {
    case "not-found":
      if (failure.what === "container") {
        return new OrchError("E_BACKEND_UNAVAILABLE", {
          flavor: "azure",
          key: "path",
          cause: error,
          message: `[orch] [azure] Container "${store.container}" does not exist in the ${at}, ${doing}.`,
          hint: `Create it (az storage container create --name ${store.container} --account-name <account>), or point --path at an existing container.`,
        });
      }
      break;
    case "auth":
      return new OrchError("E_BACKEND_UNAVAILABLE", {
        flavor: "azure",
        key: "path",
        cause: error,
        message: `[orch] [azure] Access denied to the ${at}, ${doing}, authenticating with ${store.auth}: ${failure.detail}`,
        hint:
          "Check the credential: the account key or connection string must belong to this account; a SAS token needs read, add, create, write, delete and list permissions and must not be expired; " +
          "an Entra ID identity needs the 'Storage Blob Data Contributor' role on the container.",
      });
    case "no-credentials":
      return new OrchError("E_BACKEND_UNAVAILABLE", {
        flavor: "azure",
        key: "connectionString",
        cause: error,
        message: `[orch] [azure] No usable credentials for the ${at}, ${doing}: ${failure.detail}`,
        hint:
          "Give the store --connection_string, --account_key or --sas_token (or set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN), " +
          "or sign in for DefaultAzureCredential (az login, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET). DefaultAzureCredential needs an https endpoint.",
      });
    case "unreachable":
      return new OrchError("E_BACKEND_UNAVAILABLE", {
        flavor: "azure",
        key: "endpoint",
        cause: error,
        message: `[orch] [azure] Cannot reach the ${at}, ${doing}: ${failure.detail}`,
        hint: "Check the account name and --endpoint (for Azurite: is it running, on which port?), and the network path to the blob service.",
      });
    default:
      break;
  }
  return new OrchError("E_BACKEND_UNAVAILABLE", {
    flavor: "azure",
    cause: error,
    message: `[orch] [azure] The ${at} failed ${doing}: ${"detail" in failure ? failure.detail : firstLine(String(error))}`,
    hint: "The SDK already retried with backoff; if this persists, check the storage account's health and the container's settings (immutability policies, leases).",
  });
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}
