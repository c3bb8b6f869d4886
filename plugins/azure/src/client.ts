/**
 * Builds the SDK's BlobServiceClient from the store config, falling back to the environment variables the
 * Azure CLI uses, then to DefaultAzureCredential. Loaded only from `create()` (it imports the SDK).
 */
import { AnonymousCredential, BlobServiceClient, StorageRetryPolicyType, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";
import { OrchError } from "@orch/core/plugin";
import type { AzureArtifactStoreConfig } from "./index.js";
import type { AzurePath } from "./path.js";

/** Environment variables read when the config names no credential (the Azure CLI's names). */
export const CREDENTIAL_ENV = {
  connectionString: "AZURE_STORAGE_CONNECTION_STRING",
  accountKey: "AZURE_STORAGE_KEY",
  sasToken: "AZURE_STORAGE_SAS_TOKEN",
  account: "AZURE_STORAGE_ACCOUNT",
} as const;

export interface Connection {
  /** Builds a client with the given retry settings (the data path and the preflight use different ones). */
  service(retry: RetrySettings): BlobServiceClient;
  endpoint: string;
  account?: string;
  /** How the store authenticates, for error messages ("a connection string (config)" …). */
  auth: string;
  /** Environment a child process needs to open the same store from `describe()` (credentials only). */
  env: Record<string, string>;
}

export interface RetrySettings {
  maxTries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
}

/** The data path: exponential backoff on 5xx, throttling and network errors, done by the SDK's retry policy. */
export const DATA_RETRY: RetrySettings = { maxTries: 6, retryDelayInMs: 400, maxRetryDelayInMs: 15_000 };
/** The preflight answers quickly: a wrong endpoint should not take a minute of retries to report. */
export const PREFLIGHT_RETRY: RetrySettings = { maxTries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 };

const pipelineOptions = (retry: RetrySettings): StoragePipelineOptions => ({
  retryOptions: { retryPolicyType: StorageRetryPolicyType.EXPONENTIAL, ...retry },
  userAgentOptions: { userAgentPrefix: "orch-plugin-azure" },
});

export async function connect(config: AzureArtifactStoreConfig, path: AzurePath, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const fromEnv = (key: keyof typeof CREDENTIAL_ENV) => (env[CREDENTIAL_ENV[key]] ? env[CREDENTIAL_ENV[key]] : undefined);
  const anyConfigCredential = Boolean(config.connectionString ?? config.accountKey ?? config.sasToken);
  const pick = (key: "connectionString" | "accountKey" | "sasToken") =>
    config[key] ? { value: config[key]!, source: "config" } : !anyConfigCredential && fromEnv(key) ? { value: fromEnv(key)!, source: `$${CREDENTIAL_ENV[key]}` } : undefined;

  const connectionString = pick("connectionString");
  if (connectionString) {
    let probe: BlobServiceClient;
    try {
      probe = BlobServiceClient.fromConnectionString(connectionString.value, pipelineOptions(DATA_RETRY));
    } catch (cause) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: "azure",
        key: "connectionString",
        cause,
        message: `[orch] [azure] connectionString (${connectionString.source}) is not a valid storage connection string: ${(cause as Error).message}`,
        hint: "Copy it from the portal (Access keys → Connection string), or for Azurite use UseDevelopmentStorage=true / DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=…;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
      });
    }
    return {
      service: (retry) => BlobServiceClient.fromConnectionString(connectionString.value, pipelineOptions(retry)),
      endpoint: probe.url.replace(/\/$/, ""),
      account: probe.accountName,
      auth: `a connection string (${connectionString.source})`,
      env: { [CREDENTIAL_ENV.connectionString]: connectionString.value },
    };
  }

  const account = config.account ?? path.account ?? (config.endpoint ? accountFromUrl(config.endpoint) : undefined) ?? fromEnv("account");
  if (!config.endpoint && !account) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "azure",
      key: "account",
      message: `[orch] [azure] The azure artifact store ${path.uri} names no storage account.`,
      hint: "Give --account=<name>, an abfs://container@<account>.dfs.core.windows.net path, --endpoint, a connection string, or set AZURE_STORAGE_ACCOUNT.",
    });
  }
  const endpoint = (config.endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, "");
  const accountEnv: Record<string, string> = account ? { [CREDENTIAL_ENV.account]: account } : {};

  const accountKey = pick("accountKey");
  if (accountKey) {
    if (!account) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: "azure",
        key: "account",
        message: `[orch] [azure] accountKey needs the storage account name for the azure artifact store ${path.uri}.`,
        hint: "Give --account=<name> (or AZURE_STORAGE_ACCOUNT).",
      });
    }
    let credential: StorageSharedKeyCredential;
    try {
      credential = new StorageSharedKeyCredential(account, accountKey.value);
    } catch (cause) {
      throw new OrchError("E_CONFIG_INVALID", {
        flavor: "azure",
        key: "accountKey",
        cause,
        message: `[orch] [azure] accountKey (${accountKey.source}) is not a valid account key: ${(cause as Error).message}`,
        hint: "The key is the base64 string from the portal (Access keys → Key).",
      });
    }
    return {
      service: (retry) => new BlobServiceClient(endpoint, credential, pipelineOptions(retry)),
      endpoint,
      account,
      auth: `the account key of "${account}" (${accountKey.source})`,
      env: { ...accountEnv, [CREDENTIAL_ENV.accountKey]: accountKey.value },
    };
  }

  const sasToken = pick("sasToken");
  if (sasToken) {
    const url = `${endpoint}?${sasToken.value.replace(/^\?/, "")}`;
    return {
      service: (retry) => new BlobServiceClient(url, new AnonymousCredential(), pipelineOptions(retry)),
      endpoint,
      ...(account ? { account } : {}),
      auth: `a SAS token (${sasToken.source})`,
      env: { ...accountEnv, [CREDENTIAL_ENV.sasToken]: sasToken.value },
    };
  }

  // Nothing given: Entra ID through the default chain (environment, workload identity, managed identity, az login …).
  const { DefaultAzureCredential } = await import("@azure/identity");
  const credential = new DefaultAzureCredential();
  return {
    service: (retry) => new BlobServiceClient(endpoint, credential, pipelineOptions(retry)),
    endpoint,
    ...(account ? { account } : {}),
    auth: "DefaultAzureCredential (no connection string, account key or SAS token given)",
    env: accountEnv,
  };
}

/** `https://acct.blob.core.windows.net` → acct; path-style `http://127.0.0.1:10000/acct` (Azurite) → acct. */
function accountFromUrl(url: string): string | undefined {
  const parsed = new URL(url);
  const host = parsed.hostname;
  if (/^[\d.]+$/.test(host) || host === "localhost" || host.startsWith("[")) return parsed.pathname.split("/").filter(Boolean)[0];
  return host.split(".")[0];
}
