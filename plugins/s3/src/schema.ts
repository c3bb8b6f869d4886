import { z } from "@orch/core/plugin";

export const FLAVOR = "s3";

const MiB = 1024 * 1024;

/**
 * Bucket naming rules of Amazon S3 (general purpose buckets). S3-compatible servers accept a superset;
 * keeping to these rules means a stack that works on MinIO also works on AWS.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return `is ${bucket.length} characters long; bucket names have 3 to 63`;
  if (!/^[a-z0-9.-]+$/.test(bucket)) return "may only hold lower-case letters, digits, dots and hyphens";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) return "must begin and end with a letter or digit";
  if (bucket.includes("..")) return 'must not contain ".."';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return "must not look like an IP address";
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket) || /(-s3alias|--ol-s3|--x-s3|--table-s3)$/.test(bucket)) return "uses a prefix or suffix S3 reserves";
  return undefined;
}

/** `s3://bucket/some/prefix/` → `{ bucket, prefix: "some/prefix" }` (no leading or trailing slash). */
export function parseS3Path(path: string): { bucket: string; prefix: string } | { problem: string } {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(path);
  if (!match) return { problem: `"${path}" is not an s3:// URL; write it as s3://bucket or s3://bucket/prefix` };
  const bucket = match[1]!;
  const problem = bucketNameProblem(bucket);
  if (problem) return { problem: `bucket name "${bucket}" ${problem}` };
  const prefix = (match[2] ?? "").replace(/\/+$/, "");
  if (prefix && prefix.split("/").some((part) => !/^[A-Za-z0-9_.-]+$/.test(part) || part === "." || part === "..")) {
    return { problem: `prefix "${prefix}" must be folder names of letters, digits, "_", "." and "-" separated by single "/" (no "." or "..")` };
  }
  return { bucket, prefix };
}

/** Marks a config field as secret: the CLI redacts it, `describe()` leaves it out. */
const secret = <T extends z.ZodType>(schema: T, description: string) => schema.meta({ description, secret: true });

export const configSchema = z
  .object({
    path: z
      .string()
      .superRefine((value, ctx) => {
        const parsed = parseS3Path(value);
        if ("problem" in parsed) ctx.addIssue({ code: "custom", message: parsed.problem });
      })
      .describe("Bucket and optional prefix holding runs/, artifacts/ and cache/, e.g. s3://my-bucket/orch."),
    region: z
      .string()
      .min(1)
      .optional()
      .describe("AWS region of the bucket. Default: the SDK's (AWS_REGION, the profile), or us-east-1 when endpoint is set."),
    endpoint: z
      .url()
      .optional()
      .describe("Endpoint of an S3-compatible server (MinIO, Ceph, R2, s3rver), e.g. http://127.0.0.1:9000. Default: AWS."),
    forcePathStyle: z
      .boolean()
      .default(false)
      .describe("Address buckets as endpoint/bucket instead of bucket.endpoint (most S3-compatible servers need true)."),
    accessKeyId: secret(z.string().min(1).optional(), "Access key id (secret). Default: the AWS default credential chain (env, profile, web identity, instance role)."),
    secretAccessKey: secret(z.string().min(1).optional(), "Secret access key (secret); required with accessKeyId."),
    sessionToken: secret(z.string().min(1).optional(), "Session token of temporary credentials (secret)."),
    maxAttempts: z.number().int().min(1).max(20).default(5).describe("Attempts per request, retries included (the SDK retries 5xx, throttling and network errors with backoff)."),
    retryMode: z.enum(["standard", "adaptive"]).default("standard").describe("The SDK's retry mode: standard (exponential backoff with jitter) or adaptive (adds client-side rate limiting)."),
    partSize: z
      .number()
      .int()
      .min(5 * MiB)
      .default(5 * MiB)
      .describe("Part size in bytes of multipart uploads (streamed artifacts); S3's minimum is 5 MiB. Raised for an upload of known size that would need more than S3's 10,000 parts; a stream of unknown size can be up to 10,000 parts."),
    queueSize: z.number().int().min(1).max(64).default(4).describe("Parts uploaded at once; memory use of a streamed upload is about partSize × queueSize."),
    logFlushSeconds: z
      .number()
      .positive()
      .default(1)
      .describe("How often buffered step log lines are written to the log object during a step (S3 has no append)."),
    checksums: z
      .enum(["when_supported", "when_required"])
      .optional()
      .describe("When the SDK adds CRC checksums to requests and validates responses. Default: when_supported on AWS, when_required with an endpoint (many S3-compatible servers reject the newer checksum headers)."),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (Boolean(config.accessKeyId) !== Boolean(config.secretAccessKey)) {
      ctx.addIssue({ code: "custom", path: [config.accessKeyId ? "secretAccessKey" : "accessKeyId"], message: "accessKeyId and secretAccessKey go together; give both, or neither to use the AWS default credential chain" });
    }
    if (config.sessionToken && !config.accessKeyId) {
      ctx.addIssue({ code: "custom", path: ["sessionToken"], message: "sessionToken needs accessKeyId and secretAccessKey" });
    }
  });

export type S3ArtifactStoreConfig = z.output<typeof configSchema>;

/** Config keys that hold credentials: kept out of `describe()`, passed to child processes through env. */
export const SECRET_KEYS = ["accessKeyId", "secretAccessKey", "sessionToken"] as const;
