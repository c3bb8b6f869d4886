/**
 * The Azure Blob artifact store. One blob per record, under the container and prefix of `path`, with the
 * journal layout of core (`runs/<id>/run.json`, `artifacts/<id>` …). Loaded lazily by the plugin entry.
 *
 * - write: one Put Blob (or staged blocks + one Put Block List for very large values): readers see the old
 *   value or the whole new one, never a part.
 * - writeStream: block upload with a bounded number of in-flight buffers, committed at the end.
 * - append: Append Blobs, so a step's log lines are readable while the step runs.
 * - retries: the SDK's exponential retry policy (5xx, throttling, dropped connections).
 */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { BlobClient, ContainerClient } from "@azure/storage-blob";
import { OrchError, type ArtifactStore } from "@orch/core/plugin";
import { connect, DATA_RETRY, PREFLIGHT_RETRY } from "./client.js";
import { classify, errorCode, storeError, type StoreLabel } from "./errors.js";
import type { AzureArtifactStoreConfig } from "./index.js";
import { assertAzureKey } from "./keys.js";
import { parseAzurePath, type AzurePath } from "./path.js";

/** Extra methods of this store beyond core's `ArtifactStore` (streaming, preflight, conditional create). */
export interface AzureArtifactStore extends ArtifactStore {
  /** Appends to an Append Blob (created on first use): readers see each appended block as soon as it lands. */
  append(key: string, text: string): Promise<void>;
  /** A stream of the blob under `key`, or `undefined` when there is none. Ranged re-reads on dropped connections. */
  readStream(key: string): Promise<Readable | undefined>;
  /** Uploads `source` in blocks (bounded memory), committed in one step at the end. */
  writeStream(key: string, source: Readable): Promise<void>;
  /** Checks that the container is reachable and that this identity may write, list, read and delete in it. */
  preflight(): Promise<void>;
  /** Creates `key` only if it does not exist (If-None-Match: *); false when it already existed. */
  writeIfAbsent(key: string, data: Uint8Array | string): Promise<boolean>;
  /** Environment variables that let a child process open this store from `describe()` (credentials; never printed). */
  env(): Record<string, string>;
}

/** Internal knobs, for tests (a smaller list page exercises continuation without writing 5,000 blobs). */
export interface AzureStoreOptions {
  listPageSize?: number;
  /** Block size and number of blocks in flight for streamed uploads. */
  streamBlockSize?: number;
  streamConcurrency?: number;
  /** Largest value `write` sends as one Put Blob, and the block size above it. */
  singleShotBytes?: number;
  writeBlockSize?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Largest value `write` sends as one Put Blob (the SDK's limit for a single-shot upload). One request means
 * concurrent writers of a key cannot disturb each other: the last one wins, whole. Above it, blocks + commit.
 */
const SINGLE_SHOT_BYTES = 256 * 1024 * 1024;
/** Append Block accepts at most 4 MiB per call on older service versions (Azurite included). */
const APPEND_CHUNK_BYTES = 4 * 1024 * 1024;
/** Blob batch requests carry at most 256 sub-requests. */
const BATCH_SIZE = 256;

export async function createAzureStore(config: AzureArtifactStoreConfig, _context: { projectRoot: string }, options: AzureStoreOptions = {}): Promise<AzureArtifactStore> {
  const parsed = parseAzurePath(config.path);
  if ("problem" in parsed) {
    throw new OrchError("E_CONFIG_INVALID", { flavor: "azure", key: "path", message: `[orch] [azure] path: ${parsed.problem}`, hint: `Use az://<container>/<prefix>.` });
  }
  const path: AzurePath = parsed;
  const connection = await connect(config, path, options.env);
  const container: ContainerClient = connection.service(DATA_RETRY).getContainerClient(path.container);
  const label: StoreLabel = { uri: path.uri, container: path.container, endpoint: connection.endpoint, auth: connection.auth };
  const blobName = (key: string, asPrefix = false) => {
    assertAzureKey(key, path.uri, { prefix: asPrefix });
    return `${path.prefix}${key}`;
  };
  const fail = (error: unknown, doing: string) => storeError(error, label, doing);
  /** A block commit lost to another writer's commit of the same key, which was kept whole. */
  const anotherWriter = (key: string, error: unknown) =>
    new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: "azure",
      key,
      cause: error,
      message: `[orch] [azure] Another writer committed ${key} in the azure artifact store ${path.uri} while this upload was in flight; the other value was kept whole.`,
      hint: "Each writer should own its keys (orch's artifact ids are unique); retry the write if this one should win.",
    });
  const isMissingBlob = (error: unknown) => {
    const failure = classify(error);
    return failure.kind === "not-found" && failure.what === "blob";
  };

  async function read(key: string): Promise<Uint8Array | undefined> {
    const name = blobName(key);
    try {
      const response = await container.getBlobClient(name).download(0, undefined, { maxRetryRequests: 5 });
      return await collect(response.readableStreamBody as Readable);
    } catch (error) {
      if (isMissingBlob(error)) return undefined;
      throw fail(error, `reading ${key}`);
    }
  }

  async function list(prefix: string): Promise<string[]> {
    const folder = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    const base = folder === "" ? path.prefix : blobName(folder, true);
    const keys: string[] = [];
    try {
      // byPage follows the service's continuation markers until the listing is complete.
      for await (const page of container.listBlobsFlat({ prefix: base }).byPage(options.listPageSize ? { maxPageSize: options.listPageSize } : {})) {
        for (const item of page.segment.blobItems) keys.push(item.name.slice(path.prefix.length));
      }
    } catch (error) {
      throw fail(error, `listing ${folder || "the store"}`);
    }
    return keys;
  }

  async function deleteMany(keys: string[]): Promise<void> {
    const clients = keys.map((key) => container.getBlobClient(`${path.prefix}${key}`));
    for (let i = 0; i < clients.length; i += BATCH_SIZE) {
      const chunk = clients.slice(i, i + BATCH_SIZE);
      if (chunk.length > 1 && (await deleteBatch(chunk))) continue;
      await mapLimit(chunk, 16, async (client) => {
        try {
          await client.deleteIfExists();
        } catch (error) {
          throw fail(error, `deleting ${client.name.slice(path.prefix.length)}`);
        }
      });
    }
  }

  /** One Blob Batch request for up to 256 deletes; false when the service refuses batches (then: one by one). */
  async function deleteBatch(clients: BlobClient[]): Promise<boolean> {
    try {
      const response = await container.getBlobBatchClient().deleteBlobs(clients);
      const failed = response.subResponses.filter((r) => r.status >= 300 && r.status !== 404);
      if (failed.length) {
        const first = failed[0]!;
        throw fail(Object.assign(new Error(first.statusMessage), { statusCode: first.status, code: first.errorCode }), `deleting ${failed.length} blobs in a batch`);
      }
      return true;
    } catch (error) {
      if (error instanceof OrchError) throw error;
      const failure = classify(error);
      if (failure.kind === "auth" || failure.kind === "unreachable" || failure.kind === "no-credentials") throw fail(error, "deleting blobs");
      return false; // e.g. an emulator or proxy without batch support
    }
  }

  async function appendChunk(key: string, name: string, chunk: Buffer): Promise<"ok" | "not-appendable"> {
    const client = container.getAppendBlobClient(name);
    try {
      await client.appendBlock(chunk, chunk.length);
      return "ok";
    } catch (error) {
      const code = errorCode(error);
      if (code === "InvalidBlobType" || code === "BlockCountExceedsLimit") return "not-appendable";
      if (!isMissingBlob(error)) throw fail(error, `appending to ${key}`);
    }
    try {
      await client.createIfNotExists({ blobHTTPHeaders: { blobContentType: contentType(key) } });
      await client.appendBlock(chunk, chunk.length);
      return "ok";
    } catch (error) {
      const code = errorCode(error);
      if (code === "InvalidBlobType" || code === "BlockCountExceedsLimit") return "not-appendable";
      throw fail(error, `appending to ${key}`);
    }
  }

  const store: AzureArtifactStore = {
    flavor: "azure",
    uri: path.uri,
    describe: () => ({
      flavor: "azure",
      // Never the credential: child processes get it from env() through their environment.
      config: { path: config.path, ...(config.account ? { account: config.account } : {}), ...(config.endpoint ? { endpoint: config.endpoint } : {}) },
    }),
    env: () => ({ ...connection.env }),
    read,
    async write(key, data) {
      const name = blobName(key);
      const body = toBuffer(data);
      const upload = () =>
        container.getBlockBlobClient(name).uploadData(body, {
          maxSingleShotSize: options.singleShotBytes ?? SINGLE_SHOT_BYTES,
          blockSize: options.writeBlockSize ?? 8 * 1024 * 1024,
          concurrency: 4,
          blobHTTPHeaders: { blobContentType: contentType(key) },
        });
      for (let attempt = 1; ; attempt++) {
        try {
          await upload();
          return;
        } catch (error) {
          // Another writer's block commit discarded our staged blocks (values above the single-put size).
          // The value is still in memory, so stage it again after a short random pause.
          if (errorCode(error) === "InvalidBlockList" && attempt < 3) {
            await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt));
            continue;
          }
          throw errorCode(error) === "InvalidBlockList" ? anotherWriter(key, error) : fail(error, `writing ${key}`);
        }
      }
    },
    async exists(key) {
      const name = blobName(key);
      try {
        await container.getBlobClient(name).getProperties();
        return true;
      } catch (error) {
        if (isMissingBlob(error)) return false;
        throw fail(error, `checking ${key}`);
      }
    },
    list,
    async delete(key) {
      if (key.endsWith("/")) {
        blobName(key, true);
        await deleteMany(await list(key));
        return;
      }
      const name = blobName(key);
      try {
        await container.getBlobClient(name).deleteIfExists();
      } catch (error) {
        throw fail(error, `deleting ${key}`);
      }
    },
    async append(key, text) {
      const name = blobName(key);
      const body = Buffer.from(text, "utf8");
      for (let offset = 0; offset < body.length; offset += APPEND_CHUNK_BYTES) {
        const outcome = await appendChunk(key, name, body.subarray(offset, offset + APPEND_CHUNK_BYTES));
        if (outcome === "not-appendable") {
          // The key holds a block blob (written whole earlier) or has hit the 50,000-block limit of append
          // blobs: rewrite it whole with the rest of the text; one Put Blob keeps readers consistent.
          const existing = (await read(key)) ?? new Uint8Array();
          await store.write(key, Buffer.concat([existing, body.subarray(offset)]));
          return;
        }
      }
    },
    async readStream(key) {
      const name = blobName(key);
      try {
        // The SDK's stream re-requests the remaining range (pinned to the same ETag) if a connection drops.
        const response = await container.getBlobClient(name).download(0, undefined, { maxRetryRequests: 5 });
        return response.readableStreamBody as Readable;
      } catch (error) {
        if (isMissingBlob(error)) return undefined;
        throw fail(error, `reading ${key}`);
      }
    },
    async writeStream(key, source) {
      const name = blobName(key);
      try {
        // At most streamConcurrency blocks of streamBlockSize bytes are held in memory at once.
        await container
          .getBlockBlobClient(name)
          .uploadStream(source, options.streamBlockSize ?? 8 * 1024 * 1024, options.streamConcurrency ?? 4, { blobHTTPHeaders: { blobContentType: contentType(key) } });
      } catch (error) {
        if (errorCode(error) === "InvalidBlockList") throw anotherWriter(key, error);
        throw fail(error, `uploading ${key}`);
      }
    },
    async writeIfAbsent(key, data) {
      const name = blobName(key);
      const body = toBuffer(data);
      try {
        await container.getBlockBlobClient(name).upload(body, body.length, { conditions: { ifNoneMatch: "*" }, blobHTTPHeaders: { blobContentType: contentType(key) } });
        return true;
      } catch (error) {
        if (classify(error).kind === "exists") return false;
        throw fail(error, `creating ${key}`);
      }
    },
    async preflight() {
      const probeContainer = connection.service(PREFLIGHT_RETRY).getContainerClient(path.container);
      const probe = `${path.prefix}.orch-preflight/${randomUUID()}`;
      const client = probeContainer.getBlockBlobClient(probe);
      const step = async <T>(doing: string, action: () => Promise<T>): Promise<T> => {
        try {
          return await action();
        } catch (error) {
          throw fail(error, `${doing} (preflight)`);
        }
      };
      // A write first: it needs no container-level permission, so a container-scoped SAS passes too.
      await step("writing a probe blob", () => client.upload("orch", 4));
      await step("listing the container", async () => {
        for await (const page of probeContainer.listBlobsFlat({ prefix: probe }).byPage({ maxPageSize: 1 })) return page;
        return undefined;
      });
      await step("reading the probe blob", () => client.download(0).then((r) => collect(r.readableStreamBody as Readable)));
      await step("deleting the probe blob", () => client.deleteIfExists());
    },
  };
  return store;
}

function toBuffer(data: Uint8Array | string): Buffer {
  return typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function contentType(key: string): string {
  if (key.endsWith(".json")) return "application/json";
  if (key.endsWith(".log")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
