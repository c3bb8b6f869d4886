import { OrchError } from "@orch/core/plugin";
import { FLAVOR } from "./schema.js";

/** Where a failing call went, for the message. */
export interface ErrorPlace {
  uri: string;
  bucket: string;
  endpoint?: string | undefined;
  /** What the store was doing: "read runs/x/run.json", "preflight" … */
  action: string;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

/** The first Node network error code in an error or its causes / AggregateError parts (ECONNREFUSED …). */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== "object" || depth > 4) return undefined;
  const e = error as SdkError & { cause?: unknown };
  if (typeof e.code === "string" && /^E[A-Z_]+$/.test(e.code)) return e.code;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const code = networkCode(inner, depth + 1);
    if (code) return code;
  }
  return undefined;
}

/**
 * Turns the SDK errors a user can fix (no bucket, denied, bad or missing credentials, unreachable
 * endpoint, no region) into one OrchError naming the store and the fix. Anything else is returned as is.
 */
export function toStoreError(error: unknown, place: ErrorPlace): unknown {
  if (error instanceof OrchError) return error;
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? "";
  const status = e.$metadata?.httpStatusCode;
  const where = `[orch] [${FLAVOR}] ${place.action} on ${place.uri}${place.endpoint ? ` (endpoint ${place.endpoint})` : ""} failed`;
  const make = (code: "E_CONFIG_INVALID" | "E_BACKEND_UNAVAILABLE", key: string | undefined, reason: string, hint: string) =>
    new OrchError(code, { flavor: FLAVOR, ...(key ? { key } : {}), message: `${where}: ${reason}`, hint, cause: error });

  if (name === "NoSuchBucket" || (place.action === "preflight" && name === "NotFound" && status === 404)) {
    return make("E_CONFIG_INVALID", "path", `bucket "${place.bucket}" does not exist.`, `Create it (aws s3 mb s3://${place.bucket}), or point the store at an existing bucket: orch artifact-store update <name> --path=s3://<bucket>/<prefix>.`);
  }
  if (name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch" || name === "ExpiredToken" || name === "InvalidToken" || name === "TokenRefreshRequired") {
    return make("E_CONFIG_INVALID", "accessKeyId", `the credentials were refused (${name}).`, "Check the access key and secret (accessKeyId/secretAccessKey in the store config, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, or the AWS profile); temporary credentials may have expired.");
  }
  if (name === "AccessDenied" || name === "AllAccessDisabled" || (status === 403 && name !== "RequestTimeTooSkewed")) {
    return make("E_CONFIG_INVALID", undefined, "access denied.", `Grant these credentials s3:ListBucket on arn:aws:s3:::${place.bucket} and s3:GetObject, s3:PutObject, s3:DeleteObject on its objects under the store's prefix.`);
  }
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(e.message ?? "")) {
    return make("E_CONFIG_INVALID", "accessKeyId", "no AWS credentials were found.", "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, a web identity or an instance role), or give accessKeyId/secretAccessKey in the store config.");
  }
  if (/region is missing/i.test(e.message ?? "")) {
    return make("E_CONFIG_INVALID", "region", "no AWS region is set.", "Set the store's region (orch artifact-store update <name> --region=eu-west-1) or AWS_REGION.");
  }
  const network = networkCode(error);
  if (network === "ECONNREFUSED" || network === "ENOTFOUND" || network === "EAI_AGAIN" || network === "ECONNRESET" || network === "ETIMEDOUT" || name === "TimeoutError") {
    return make("E_BACKEND_UNAVAILABLE", place.endpoint ? "endpoint" : undefined, `the S3 endpoint cannot be reached (${network ?? name}).`, place.endpoint ? `Check that the server at ${place.endpoint} is running and reachable from this machine, or fix --endpoint.` : "Check the network connection to AWS and the region.");
  }
  return error;
}
