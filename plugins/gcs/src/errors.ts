/**
 * Turns `@google-cloud/storage` / google-auth-library failures into one `OrchError` that names the
 * flavor, the gs:// path and the fix: a wrong bucket, missing or rejected credentials and missing
 * permissions each get their own hint.
 */
import { OrchError } from "@orch/core/plugin";

export interface StoreErrorContext {
  uri: string;
  bucket: string;
  keyFile: string | undefined;
  apiEndpoint: string | undefined;
}

/** HTTP status of an SDK error (ApiError.code, gaxios response, resumable-upload error). */
export function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | undefined;
  for (const value of [e?.code, e?.status, e?.response?.status]) if (typeof value === "number") return value;
  return undefined;
}

export const isNotFound = (error: unknown) => statusOf(error) === 404;
/** A 404 about the bucket rather than the object (the JSON API says "The specified bucket does not exist."). */
export const isMissingBucket = (error: unknown) => statusOf(error) === 404 && /bucket does not exist|no such bucket/i.test(serverMessage(error));
export const isPreconditionFailed = (error: unknown) => statusOf(error) === 412;

/** The server's own message: ApiError.message, or `error.message` inside a JSON body (downloads put the raw body there). */
function serverMessage(error: unknown): string {
  const raw = String((error as Error)?.message ?? error);
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: string } };
    if (parsed.error?.message) return parsed.error.message;
  } catch {
    // not JSON
  }
  return raw;
}

export function storeError(ctx: StoreErrorContext, details: { problem: string; hint: string; key?: string; operation?: string; cause?: unknown; code?: "E_CONFIG_INVALID" | "E_BACKEND_UNAVAILABLE" }): OrchError {
  const what = details.operation ?? `Cannot use the gcs artifact store ${ctx.uri}`;
  return new OrchError(details.code ?? "E_CONFIG_INVALID", {
    flavor: "gcs",
    ...(details.key ? { key: details.key } : {}),
    message: `[orch] [gcs] ${what}: ${details.problem}.`,
    hint: details.hint,
    ...(details.cause !== undefined ? { cause: details.cause } : {}),
  });
}

const CREDENTIAL_FIX = "Run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS), or register the store with --key_file=path/to/service-account.json.";

/** Maps an SDK error of `operation` on `key` (undefined: the preflight probe) to a clear OrchError. */
export function gcsError(error: unknown, ctx: StoreErrorContext, operation: string, key: string | undefined): OrchError {
  if (error instanceof OrchError) return error;
  const status = statusOf(error);
  const message = serverMessage(error);
  const what = key === undefined ? `Cannot use the gcs artifact store ${ctx.uri}` : `Cannot ${operation} ${key} in the gcs artifact store ${ctx.uri}`;
  const base = { operation: what, cause: error };
  const identity = ctx.keyFile ? `the identity in ${ctx.keyFile}` : "the identity of your credentials";

  if (isMissingBucket(error)) {
    return storeError(ctx, {
      ...base,
      key: "path",
      problem: `the bucket "${ctx.bucket}" does not exist (404)`,
      hint: `Create it (gcloud storage buckets create gs://${ctx.bucket}) or fix the store's --path.`,
    });
  }
  if (status === 401 || /invalid_grant|unauthenticated|Could not refresh access token/i.test(message)) {
    return storeError(ctx, { ...base, key: "credentials", problem: `the credentials were rejected (401: ${message})`, hint: CREDENTIAL_FIX });
  }
  if (status === 403) {
    return storeError(ctx, {
      ...base,
      key: "credentials",
      problem: `access denied (403: ${message})`,
      hint: `Grant ${identity} roles/storage.objectAdmin on gs://${ctx.bucket} (gcloud storage buckets add-iam-policy-binding gs://${ctx.bucket} --member=… --role=roles/storage.objectAdmin), or use credentials that have it.`,
    });
  }
  if (/Could not load the default credentials|Unable to detect a Project Id|no such file or directory.*\.json|ENOENT/i.test(message)) {
    return storeError(ctx, { ...base, key: "credentials", problem: `no usable credentials (${message.split("\n")[0]})`, hint: CREDENTIAL_FIX });
  }
  const netCode = (error as { code?: unknown })?.code;
  if (typeof netCode === "string" && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET)$/.test(netCode)) {
    return storeError(ctx, {
      ...base,
      code: "E_BACKEND_UNAVAILABLE",
      problem: `cannot reach ${ctx.apiEndpoint ?? "storage.googleapis.com"} (${netCode})`,
      hint: ctx.apiEndpoint ? "Check that the endpoint given as --api_endpoint is up, or drop --api_endpoint to use Google Cloud Storage." : "Check the network connection and proxy settings.",
    });
  }
  return storeError(ctx, {
    ...base,
    code: "E_BACKEND_UNAVAILABLE",
    problem: `${status ? `${status}: ` : ""}${message}`,
    hint: "Cloud Storage failed after the client's retries; check https://status.cloud.google.com and try again.",
  });
}
