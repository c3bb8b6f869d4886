/**
 * `gs://bucket/prefix` parsing and Cloud Storage bucket naming rules, checked when the config is
 * validated so a typo fails at `orch artifact-store register`, not at the first upload.
 * Pure code: the entry imports it, so it must not pull in the SDK.
 */
export interface GcsLocation {
  bucket: string;
  /** Object-name prefix for every key, `""` or ending in `/`. */
  prefix: string;
}

const BUCKET_CHARS = /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Why `bucket` is not a valid Cloud Storage bucket name, or undefined when it is. */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3) return "it is shorter than 3 characters";
  if (!BUCKET_CHARS.test(bucket)) return "it may contain only lower-case letters, digits, '-', '_' and '.', and must start and end with a letter or digit";
  const dotted = bucket.includes(".");
  if (!dotted && bucket.length > 63) return "it is longer than 63 characters";
  if (dotted && bucket.length > 222) return "it is longer than 222 characters";
  if (dotted && bucket.split(".").some((part) => part.length === 0 || part.length > 63)) return "each dot-separated part must be 1 to 63 characters";
  if (IP_ADDRESS.test(bucket)) return "it must not look like an IP address";
  if (bucket.startsWith("goog")) return 'it must not start with "goog"';
  if (/g[o0][o0]gle/.test(bucket)) return 'it must not contain "google" or close misspellings';
  return undefined;
}

/** Why `path` is not a usable `gs://bucket/prefix`, or undefined when it is. */
export function gcsPathProblem(path: string): string | undefined {
  if (!path.startsWith("gs://")) return `it must start with gs:// (e.g. gs://my-bucket/orch), got "${path}"`;
  const rest = path.slice("gs://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!bucket) return "it names no bucket (expected gs://BUCKET/prefix)";
  const problem = bucketNameProblem(bucket);
  if (problem) return `"${bucket}" is not a valid bucket name: ${problem}`;
  const prefix = slash < 0 ? "" : rest.slice(slash + 1);
  const parts = prefix.split("/").filter(Boolean);
  if (parts.some((part) => part === "." || part === "..")) return 'the prefix must not contain "." or ".." segments';
  if (/[\r\n#?*[\]]/.test(prefix)) return "the prefix must not contain newlines, '#', '?', '*', '[' or ']'";
  return undefined;
}

/** Splits a validated `gs://bucket/a/b/` into `{ bucket, prefix: "a/b/" }`. */
export function parseGcsPath(path: string): GcsLocation {
  const problem = gcsPathProblem(path);
  if (problem) throw new Error(`Invalid GCS path: ${problem}`);
  const rest = path.slice("gs://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const parts = (slash < 0 ? "" : rest.slice(slash + 1)).split("/").filter(Boolean);
  return { bucket, prefix: parts.length ? `${parts.join("/")}/` : "" };
}
