/**
 * The `gcs` artifact store on `@google-cloud/storage` (loaded only here, never by the entry).
 * One object per key under `gs://bucket/prefix/`; every write is a single object upload, so readers
 * see the old object or the whole new one (GCS object writes are atomic, including resumable ones:
 * the object appears only when the upload is finalized).
 */
import { randomBytes } from "node:crypto";
import { access, constants } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { IdempotencyStrategy, Storage, type File, type StorageOptions } from "@google-cloud/storage";
import type { ArtifactStore } from "@orch/core/plugin";
import { CHUNK_MARKER, createAppender } from "./append.js";
import { gcsError, isMissingBucket, isNotFound, isPreconditionFailed, storeError } from "./errors.js";
import { parseGcsPath } from "./gcs-path.js";
import type { GcsArtifactStoreConfig } from "./index.js";
import { assertStoreKey } from "./keys.js";

/** Writes up to this size go in one multipart request; larger ones use a resumable upload. */
export const SINGLE_REQUEST_LIMIT = 8 * 1024 * 1024;
/** Resumable uploads send chunks of this size (a multiple of 256 KiB): memory per upload stays bounded, and a failed chunk is retried alone. */
export const UPLOAD_CHUNK_SIZE = 16 * 1024 * 1024;
/** The JSON API returns at most 1,000 objects per list page. */
const LIST_PAGE_SIZE = 1000;
const DELETE_CONCURRENCY = 16;
/** Env var a child process (e.g. a step container) may use for inline credentials, since describe() never carries them. */
export const CREDENTIALS_ENV = "ORCH_GCS_CREDENTIALS";

/** The `gcs` store plus the optional streaming / preflight / conditional-create calls. */
export interface GcsArtifactStore extends ArtifactStore {
  append(key: string, text: string): Promise<void>;
  readStream(key: string): Promise<Readable | undefined>;
  writeStream(key: string, source: Readable): Promise<void>;
  preflight(): Promise<void>;
  writeIfAbsent(key: string, data: Uint8Array | string): Promise<boolean>;
}

export async function createGcsStore(config: GcsArtifactStoreConfig, context: { projectRoot: string }): Promise<GcsArtifactStore> {
  const { bucket: bucketName, prefix } = parseGcsPath(config.path);
  const uri = `gs://${bucketName}/${prefix}`;
  const keyFile = config.keyFile === undefined ? undefined : isAbsolute(config.keyFile) ? config.keyFile : resolve(context.projectRoot, config.keyFile);
  const credentials = parseCredentials(config.credentials ?? process.env[CREDENTIALS_ENV], uri, config.credentials === undefined);
  const options = storageOptions(config, keyFile, credentials);
  const storage = new Storage(options);
  const bucket = storage.bucket(bucketName);
  // The preflight answers a person waiting at the terminal: two quick retries, not the full backoff.
  const preflightBucket = () => new Storage({ ...options, retryOptions: { ...options.retryOptions, maxRetries: 2, totalTimeout: 30 } }).bucket(bucketName);
  const ctx = { uri, bucket: bucketName, keyFile, apiEndpoint: config.apiEndpoint };

  const objectName = (key: string) => {
    assertStoreKey(key);
    return `${prefix}${key}`;
  };
  const file = (key: string): File => bucket.file(objectName(key));
  const toKey = (name: string) => name.slice(prefix.length);

  const listNames = async (keyPrefix: string): Promise<string[]> => {
    const names: string[] = [];
    let pageToken: string | undefined;
    do {
      const [files, next] = await bucket
        .getFiles({ prefix: `${prefix}${keyPrefix}`, autoPaginate: false, maxResults: LIST_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) })
        .catch((error: unknown) => {
          throw gcsError(error, ctx, "list", keyPrefix);
        });
      for (const f of files) names.push(f.name);
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken);
    return names;
  };

  const upload = async (key: string, data: Uint8Array | string, extra: { ifGenerationMatch?: number } = {}) => {
    const buffer = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await file(key).save(buffer, {
      resumable: buffer.byteLength > SINGLE_REQUEST_LIMIT,
      chunkSize: UPLOAD_CHUNK_SIZE,
      contentType: contentTypeOf(key),
      ...(extra.ifGenerationMatch !== undefined ? { preconditionOpts: { ifGenerationMatch: extra.ifGenerationMatch } } : {}),
    });
  };

  const store: GcsArtifactStore = {
    flavor: "gcs",
    uri,
    describe() {
      // Inline credentials never leave this process through describe(): it is passed on command lines
      // and env of child processes. Those authenticate with keyFile, ADC or ORCH_GCS_CREDENTIALS.
      const described: Record<string, unknown> = { path: config.path };
      if (config.project) described.project = config.project;
      if (keyFile) described.keyFile = keyFile;
      if (config.apiEndpoint) described.apiEndpoint = config.apiEndpoint;
      return { flavor: "gcs", config: described };
    },
    // Inline credentials reach child processes and containers through their environment instead.
    env: (): Record<string, string> => (credentials ? { [CREDENTIALS_ENV]: JSON.stringify(credentials) } : {}),

    async read(key) {
      const target = file(key);
      try {
        const [contents] = await target.download();
        return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
      } catch (error) {
        if (isNotFound(error) && !isMissingBucket(error)) return undefined;
        throw gcsError(error, ctx, "read", key);
      }
    },

    async write(key, data) {
      try {
        await upload(key, data);
      } catch (error) {
        throw gcsError(error, ctx, "write", key);
      }
    },

    async writeIfAbsent(key, data) {
      try {
        await upload(key, data, { ifGenerationMatch: 0 });
        return true;
      } catch (error) {
        if (isPreconditionFailed(error)) return false;
        throw gcsError(error, ctx, "write", key);
      }
    },

    async exists(key) {
      try {
        const [found] = await file(key).exists();
        return found;
      } catch (error) {
        throw gcsError(error, ctx, "exists", key);
      }
    },

    async list(keyPrefix) {
      if (keyPrefix !== "") assertStoreKey(keyPrefix);
      return (await listNames(keyPrefix)).map(toKey).filter((key) => !isInternalKey(key)).sort();
    },

    async delete(key) {
      if (!key.endsWith("/")) {
        try {
          await file(key).delete({ ignoreNotFound: true });
        } catch (error) {
          throw gcsError(error, ctx, "delete", key);
        }
        return;
      }
      assertStoreKey(key);
      const names = await listNames(key);
      let next = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++]!;
          await bucket
            .file(name)
            .delete({ ignoreNotFound: true })
            .catch((error: unknown) => {
              throw gcsError(error, ctx, "delete", toKey(name));
            });
        }
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, worker));
    },

    append: createAppender({
      bucket,
      objectName,
      onError: (error, key) => gcsError(error, ctx, "append to", key),
    }),

    async readStream(key) {
      const source = file(key).createReadStream();
      const out = new PassThrough();
      return new Promise<Readable | undefined>((resolveStream, reject) => {
        let settled = false;
        const settle = (value: Readable | undefined, error?: unknown) => {
          if (settled) return;
          settled = true;
          if (error !== undefined) reject(error);
          else resolveStream(value);
        };
        source.once("response", (response: { statusCode?: number; status?: number }) => {
          const status = response.statusCode ?? response.status ?? 200;
          // Errors arrive on the stream right after; a 2xx hands the stream to the caller now.
          if (status < 300) settle(out);
        });
        pipeline(source, out).catch((error: unknown) => {
          if (!settled) {
            out.on("error", () => {});
            if (isNotFound(error) && !isMissingBucket(error)) settle(undefined);
            else settle(undefined, gcsError(error, ctx, "read", key));
          } else {
            out.destroy(gcsError(error, ctx, "read", key));
          }
        });
      });
    },

    async writeStream(key, source) {
      const target = file(key);
      try {
        // Resumable upload in fixed-size chunks: memory stays at about one chunk, whatever the size.
        await pipeline(source, target.createWriteStream({ resumable: true, chunkSize: UPLOAD_CHUNK_SIZE, contentType: contentTypeOf(key) }));
      } catch (error) {
        // The caller's own stream failing is its error, not a storage failure: pass it on as it is.
        if (source.errored && error === source.errored) throw error;
        throw gcsError(error, ctx, "write", key);
      }
    },

    async preflight() {
      if (keyFile) {
        try {
          await access(keyFile, constants.R_OK);
        } catch {
          throw storeError(ctx, {
            key: "keyFile",
            problem: `the key file ${keyFile} does not exist or cannot be read`,
            hint: "Point --key_file at a service-account JSON key (gcloud iam service-accounts keys create key.json --iam-account=…), or drop it to use Application Default Credentials.",
          });
        }
      }
      // Write, list and delete a probe object: the three permissions every run needs.
      const probe = `${prefix}${PREFLIGHT_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}`;
      const target = preflightBucket();
      try {
        await target.file(probe).save(Buffer.from("orch preflight\n"), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
        await target.getFiles({ prefix: probe, autoPaginate: false, maxResults: 1 });
        await target.file(probe).delete({ ignoreNotFound: true });
      } catch (error) {
        throw gcsError(error, ctx, "preflight", undefined);
      }
    },
  };
  return store;
}

/** Objects the store makes for itself (preflight probes) and never reports as keys. */
const PREFLIGHT_PREFIX = ".orch-preflight-";
const isInternalKey = (key: string) => key.startsWith(PREFLIGHT_PREFIX) || key.includes(CHUNK_MARKER);

function storageOptions(config: GcsArtifactStoreConfig, keyFile: string | undefined, credentials: Record<string, unknown> | undefined): StorageOptions {
  const explicitAuth = keyFile !== undefined || credentials !== undefined;
  return {
    ...(config.project ? { projectId: config.project } : {}),
    ...(keyFile ? { keyFilename: keyFile } : {}),
    ...(credentials ? { credentials: credentials as StorageOptions["credentials"] } : {}),
    ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint.replace(/\/+$/, ""), useAuthWithCustomEndpoint: explicitAuth } : {}),
    retryOptions: {
      autoRetry: true,
      maxRetries: 5,
      retryDelayMultiplier: 2,
      maxRetryDelay: 32,
      totalTimeout: 600,
      // Every write of this store is either a whole-object overwrite with the same bytes (safe to
      // repeat) or carries an ifGenerationMatch precondition, so retrying all of them is safe.
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  };
}

function parseCredentials(value: string | Record<string, unknown> | undefined, uri: string, fromEnv: boolean): Record<string, unknown> | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below, which never echoes the (secret) value
  }
  throw storeError(
    { uri, bucket: "", keyFile: undefined, apiEndpoint: undefined },
    {
      key: "credentials",
      problem: fromEnv ? `${CREDENTIALS_ENV} is not a JSON object` : "the inline credentials are not a JSON object",
      hint: "Give the whole service-account JSON key (the file's contents), or use --key_file=path/to/key.json instead.",
    },
  );
}

function contentTypeOf(key: string): string {
  if (key.endsWith(".json")) return "application/json";
  if (key.endsWith(".log")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}
