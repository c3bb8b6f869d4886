import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { OrchError, type ArtifactStore } from "@orch/core/plugin";
import { toStoreError } from "./errors.js";
import { createLogAppender } from "./log-appender.js";
import { FLAVOR, parseS3Path, SECRET_KEYS, type S3ArtifactStoreConfig } from "./schema.js";

/** Same guard as core's local store: keys are built from validated names, refuse path tricks anyway. */
const KEY_PATTERN = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/;

/** DeleteObjects takes at most 1,000 keys per request. */
const DELETE_BATCH = 1000;

/** Options for tests and advanced embedding. */
export interface S3StoreOptions {
  /** A ready client (tests, custom middleware); the store then ignores the connection keys of the config. */
  client?: S3Client;
}

/** The `s3` artifact store: one object per journal record, multipart uploads for streamed artifacts. */
export function createS3Store(config: S3ArtifactStoreConfig, options: S3StoreOptions = {}): ArtifactStore & { readonly client: S3Client } {
  const parsed = parseS3Path(config.path);
  if ("problem" in parsed) throw new OrchError("E_CONFIG_INVALID", { flavor: FLAVOR, key: "path", message: `[orch] [${FLAVOR}] path: ${parsed.problem}`, hint: "Write path as s3://bucket/prefix." });
  const { bucket, prefix } = parsed;
  const uri = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;
  const checksums = config.checksums ?? (config.endpoint ? "when_required" : "when_supported");
  const client =
    options.client ??
    new S3Client({
      // S3-compatible servers ignore the region but the SDK's signer needs one.
      ...(config.region ? { region: config.region } : config.endpoint ? { region: "us-east-1" } : {}),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle,
      ...(config.accessKeyId && config.secretAccessKey
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}) } }
        : {}),
      // The SDK's own retry machinery: exponential backoff with jitter on 5xx, throttling and network errors.
      maxAttempts: config.maxAttempts,
      retryMode: config.retryMode,
      requestChecksumCalculation: checksums === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
      responseChecksumValidation: checksums === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
    });

  const objectKey = (key: string) => {
    if (!KEY_PATTERN.test(key) || key.split("/").some((part) => part === ".." || part === ".")) {
      throw new Error(`Unsafe artifact store key ${JSON.stringify(key)}`);
    }
    return prefix ? `${prefix}/${key}` : key;
  };
  const storeKey = (object: string) => (prefix ? object.slice(prefix.length + 1) : object);
  const place = (action: string) => ({ uri, bucket, endpoint: config.endpoint, action });
  /** Runs one SDK call, turning errors a user can fix into an OrchError that names the store. */
  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toStoreError(error, place(action));
    }
  };
  const isMissing = (error: unknown) => {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e.name === "NoSuchKey" || e.name === "NotFound" || (e.$metadata?.httpStatusCode === 404 && e.name !== "NoSuchBucket");
  };

  async function getObject(key: string) {
    const Key = objectKey(key);
    return call(`read ${key}`, async () => {
      try {
        return await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    });
  }

  async function put(key: string, data: Uint8Array | string, conditional = false): Promise<boolean> {
    const Key = objectKey(key);
    const Body = typeof data === "string" ? Buffer.from(data) : data;
    return call(`write ${key}`, async () => {
      // A conditional create that races another one may get 409 ConditionalRequestConflict: try again,
      // and the loser then gets 412 PreconditionFailed.
      for (let attempt = 0; ; attempt++) {
        try {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ContentLength: Body.byteLength, ...(conditional ? { IfNoneMatch: "*" } : {}) }));
          return true;
        } catch (error) {
          const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
          if (conditional && (e.name === "PreconditionFailed" || e.$metadata?.httpStatusCode === 412)) return false;
          if (conditional && attempt < 5 && (e.name === "ConditionalRequestConflict" || e.$metadata?.httpStatusCode === 409)) continue;
          throw error;
        }
      }
    });
  }

  async function list(storePrefix: string): Promise<string[]> {
    const Prefix = objectKey(storePrefix);
    return call(`list ${storePrefix}`, async () => {
      const keys: string[] = [];
      // ListObjectsV2 returns at most 1,000 keys a page; the paginator follows ContinuationToken.
      for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix })) {
        for (const object of page.Contents ?? []) if (object.Key) keys.push(storeKey(object.Key));
      }
      return keys.sort();
    });
  }

  const logs = createLogAppender({ read: async (key) => store.read(key), write: async (key, text) => void (await put(key, text)) }, config.logFlushSeconds * 1000);

  const store: ArtifactStore & { readonly client: S3Client } = {
    flavor: FLAVOR,
    uri,
    client,
    describe() {
      const safe: Record<string, unknown> = { ...config };
      for (const key of SECRET_KEYS) delete safe[key];
      return { flavor: FLAVOR, config: safe };
    },
    env() {
      // What the AWS default credential chain of a child process reads; empty when the config has no keys.
      if (!config.accessKeyId || !config.secretAccessKey) return {};
      return {
        AWS_ACCESS_KEY_ID: config.accessKeyId,
        AWS_SECRET_ACCESS_KEY: config.secretAccessKey,
        ...(config.sessionToken ? { AWS_SESSION_TOKEN: config.sessionToken } : {}),
      };
    },
    async read(key) {
      const object = await getObject(key);
      if (!object?.Body) return undefined;
      return call(`read ${key}`, () => object.Body!.transformToByteArray());
    },
    async readStream(key) {
      const object = await getObject(key);
      return object?.Body ? (object.Body as Readable) : undefined;
    },
    async write(key, data) {
      await put(key, data);
    },
    async writeIfAbsent(key, data) {
      return put(key, data, true);
    },
    async writeStream(key, source, options = {}) {
      const Key = objectKey(key);
      const Body = source instanceof Readable ? source : Readable.from(source);
      await call(`write ${key}`, async () => {
        // Multipart for anything above one part (memory: partSize × queueSize); a single PUT below.
        // S3 shows the object only when CompleteMultipartUpload succeeds, so readers never see half of it;
        // on failure lib-storage aborts the upload (leavePartsOnError: false) and nothing is left.
        // S3 allows 10,000 parts: a large upload of known size gets parts big enough to fit.
        const partSize = Math.max(config.partSize, options.size ? Math.ceil(options.size / 10_000) : 0);
        const upload = new Upload({ client, params: { Bucket: bucket, Key, Body }, partSize, queueSize: config.queueSize, leavePartsOnError: false });
        const abort = () => void upload.abort().catch(() => {});
        options.signal?.addEventListener("abort", abort, { once: true });
        // When the source fails, lib-storage aborts the upload; if that abort is refused too, its error
        // would hide the real cause. Remember the source's error and report that one.
        let sourceError: unknown;
        Body.once("error", (error) => (sourceError ??= error));
        try {
          options.signal?.throwIfAborted();
          await upload.done();
        } catch (error) {
          throw sourceError ?? error;
        } finally {
          options.signal?.removeEventListener("abort", abort);
        }
      });
    },
    async exists(key) {
      const Key = objectKey(key);
      return call(`exists ${key}`, async () => {
        try {
          await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
          return true;
        } catch (error) {
          if (isMissing(error)) return false;
          throw error;
        }
      });
    },
    list,
    async delete(key) {
      if (!key.endsWith("/")) {
        const Key = objectKey(key);
        await call(`delete ${key}`, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key })));
        return;
      }
      const keys = await list(key);
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH).map((k) => ({ Key: objectKey(k) }));
        const result = await call(`delete ${key}`, () => client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } })));
        const failed = result.Errors ?? [];
        if (failed.length) {
          throw toStoreError(Object.assign(new Error(failed[0]!.Message ?? "DeleteObjects failed"), { name: failed[0]!.Code ?? "DeleteObjectsError" }), place(`delete ${key} (${failed.length} of ${batch.length} objects)`));
        }
      }
    },
    append: (key, text) => {
      objectKey(key);
      return logs.append(key, text);
    },
    flush: (key) => logs.flush(key),
    async preflight() {
      // A one-key listing, not HeadBucket: both need s3:ListBucket, but HEAD answers carry no body, so a
      // refused key and a denied policy would both be a bare 403; the listing's error names which it is.
      await call("preflight", () => client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1, ...(prefix ? { Prefix: `${prefix}/` } : {}) })));
      // A probe object proves the prefix is writable and deletable.
      const probe = objectKey(`.orch-preflight-${randomBytes(6).toString("hex")}`);
      await call("preflight", () => client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: Buffer.alloc(0), ContentLength: 0 })));
      await call("preflight", () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe })));
    },
  };
  return store;
}
