/**
 * A loopback server speaking the part of the Cloud Storage JSON API that `@google-cloud/storage`
 * uses for the gcs artifact store (no GCS emulator ships on npm). Object bytes live in a temp folder,
 * so a 256 MB upload does not sit in this process's memory.
 *
 * Covered: uploads (`uploadType=media|multipart|resumable`, resumable sessions with chunked `PUT`s,
 * `Content-Range`, `308` + `Range`, status queries), `alt=media` downloads with `Range` and
 * `x-goog-hash`, object metadata, list with `prefix` / `pageToken` / `maxResults` (1,000 max),
 * delete, compose, `ifGenerationMatch` on writes / compose / delete (412 `conditionNotMet`),
 * 404 `notFound` for a missing bucket or object, bearer-token auth (401 / 403) with an STS-style
 * token endpoint at `/token`, and injected 5xx failures to exercise the client's retries.
 * Not covered: ACLs, IAM, versioning history (only the live generation exists), metageneration
 * preconditions, delimiter listing, XML API, signed URLs, CMEK/CSEK.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, type WriteStream } from "node:fs";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { CRC32C } from "@google-cloud/storage";

interface StoredObject {
  name: string;
  generation: number;
  size: number;
  md5: string;
  crc32c: string;
  contentType: string;
  file: string;
  created: string;
}

interface UploadSession {
  id: string;
  bucket: string;
  name: string;
  contentType: string;
  ifGenerationMatch?: number;
  file: string;
  received: number;
  md5: Hash;
  crc: CRC32C;
  done?: StoredObject;
}

export interface FakeGcsOptions {
  /** Buckets that exist. */
  buckets?: string[];
  /**
   * When set, every storage request needs `Authorization: Bearer <token>` with a token listed here;
   * `buckets` limits which buckets the token may touch (others get 403). The STS endpoint `/token`
   * hands out the subject token it is given as the access token.
   */
  tokens?: Record<string, { buckets?: string[] }>;
}

export interface FakeGcs {
  url: string;
  port: number;
  /** Requests seen, as `METHOD path?query [Content-Range: …]` (for checking pagination, chunked uploads …). */
  requests: string[];
  createBucket(name: string): void;
  objectNames(bucket: string): string[];
  /** Makes the next `count` requests whose `METHOD url` matches `pattern` fail with `status`. */
  failNext(count: number, status: number, pattern?: RegExp): void;
  close(): Promise<void>;
}

type ErrorReason = "notFound" | "conditionNotMet" | "required" | "forbidden" | "invalid" | "backendError" | "authError";

export async function startFakeGcs(options: FakeGcsOptions = {}): Promise<FakeGcs> {
  const dir = mkdtempSync(join(tmpdir(), "orch-fake-gcs-"));
  const buckets = new Map<string, Map<string, StoredObject>>();
  for (const name of options.buckets ?? []) buckets.set(name, new Map());
  const sessions = new Map<string, UploadSession>();
  const requests: string[] = [];
  const failures: { count: number; status: number; pattern: RegExp }[] = [];
  let generationCounter = 1_700_000_000_000_000;
  let fileCounter = 0;
  const newFile = () => join(dir, `blob-${++fileCounter}`);

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  // The JSON API's error shape: { error: { code, message, errors: [{ message, domain, reason }] } }.
  const sendError = (res: ServerResponse, status: number, reason: ErrorReason, message: string) =>
    sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: "global", reason }] } });

  const resource = (bucket: string, o: StoredObject, base: string) => ({
    kind: "storage#object",
    id: `${bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}`,
    mediaLink: `${base}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(o.name)}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket,
    generation: String(o.generation),
    metageneration: "1",
    contentType: o.contentType,
    storageClass: "STANDARD",
    size: String(o.size),
    md5Hash: o.md5,
    crc32c: o.crc32c,
    etag: Buffer.from(String(o.generation)).toString("base64"),
    timeCreated: o.created,
    updated: o.created,
    timeStorageClassUpdated: o.created,
  });

  /** Checks `ifGenerationMatch` against the live object (0: must not exist). Sends 412 and returns false on mismatch. */
  const preconditionHolds = (res: ServerResponse, current: StoredObject | undefined, ifGenerationMatch: number | undefined) => {
    if (ifGenerationMatch === undefined) return true;
    const actual = current?.generation ?? 0;
    if (actual === ifGenerationMatch) return true;
    sendError(res, 412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
    return false;
  };

  const commit = (bucket: string, name: string, file: string, size: number, md5: string, crc32c: string, contentType: string): StoredObject => {
    const objects = buckets.get(bucket)!;
    const previous = objects.get(name);
    const stored: StoredObject = { name, generation: ++generationCounter, size, md5, crc32c, contentType, file, created: new Date().toISOString() };
    objects.set(name, stored);
    // Readers of the previous generation may still be opening its file: remove it a little later.
    if (previous) setTimeout(() => void rm(previous.file, { force: true }), 2000).unref();
    return stored;
  };

  /**
   * Writes the bytes first, then checks the precondition and commits with no await in between, so
   * concurrent conditional writes are decided one at a time, as on the real service.
   */
  const storeBuffer = async (res: ServerResponse, bucket: string, name: string, data: Buffer, contentType: string, ifGenerationMatch: number | undefined) => {
    const file = newFile();
    await writeFile(file, data);
    if (!preconditionHolds(res, buckets.get(bucket)!.get(name), ifGenerationMatch)) return void rm(file, { force: true });
    const crc = new CRC32C();
    crc.update(data);
    const stored = commit(bucket, name, file, data.length, createHash("md5").update(data).digest("base64"), crc.toString(), contentType);
    sendJson(res, 200, resource(bucket, stored, `http://${res.req.headers.host}`));
  };

  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  const numberParam = (query: URLSearchParams, key: string) => {
    const value = query.get(key);
    return value === null ? undefined : Number(value);
  };

  const authorize = (req: IncomingMessage, res: ServerResponse, bucket: string | undefined) => {
    if (!options.tokens) return true;
    const header = req.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : undefined;
    const grant = token ? options.tokens[token] : undefined;
    if (!grant) {
      sendError(res, 401, token ? "authError" : "required", token ? "Invalid Credentials" : "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.");
      return false;
    }
    if (bucket && grant.buckets && !grant.buckets.includes(bucket)) {
      sendError(res, 403, "forbidden", `caller does not have storage.objects.create access to the Google Cloud Storage bucket ${bucket}. Permission 'storage.objects.create' denied on resource (or it may not exist).`);
      return false;
    }
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const base = `http://${req.headers.host}`;
    const method = req.method ?? "GET";
    const range = req.headers["content-range"];
    requests.push(`${method} ${url.pathname}${url.search}${range ? ` [Content-Range: ${range}]` : ""}`);
    const failure = failures.find((f) => f.count > 0 && f.pattern.test(`${method} ${url.pathname}${url.search}`));
    if (failure) {
      failure.count--;
      await readBody(req);
      return sendError(res, failure.status, "backendError", "Backend Error (injected by the test)");
    }
    const query = url.searchParams;

    // STS token exchange (external-account credentials): access token = the subject token.
    if (method === "POST" && url.pathname === "/token") {
      const form = new URLSearchParams((await readBody(req)).toString("utf8"));
      const subject = form.get("subject_token") ?? "";
      return sendJson(res, 200, { access_token: subject.trim(), issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 3600 });
    }

    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    const objectPath = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+?)(\/compose)?$/.exec(url.pathname);
    const listPath = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    const bucketPath = /^\/storage\/v1\/b\/([^/]+)$/.exec(url.pathname);
    const bucket = decodeURIComponent((upload ?? objectPath ?? listPath ?? bucketPath)?.[1] ?? "");
    if (!bucket) return sendError(res, 404, "notFound", `Not Found: ${method} ${url.pathname}`);
    if (!authorize(req, res, bucket)) return;
    const objects = buckets.get(bucket);
    if (!objects) {
      await readBody(req);
      return sendError(res, 404, "notFound", "The specified bucket does not exist.");
    }

    if (bucketPath && method === "GET") {
      return sendJson(res, 200, { kind: "storage#bucket", id: bucket, name: bucket, location: "US", storageClass: "STANDARD" });
    }

    if (upload) {
      const uploadType = query.get("uploadType");
      const ifGenerationMatch = numberParam(query, "ifGenerationMatch");
      if (method === "POST" && uploadType === "media") {
        const name = query.get("name") ?? "";
        const data = await readBody(req);
        if (!name) return sendError(res, 400, "required", "Required parameter: name");
        return storeBuffer(res, bucket, name, data, req.headers["content-type"] ?? "application/octet-stream", ifGenerationMatch);
      }
      if (method === "POST" && uploadType === "multipart") {
        const { metadata, media, mediaType } = parseMultipart(req.headers["content-type"] ?? "", await readBody(req));
        const name = String(metadata.name ?? query.get("name") ?? "");
        if (!name) return sendError(res, 400, "required", "Required parameter: name");
        return storeBuffer(res, bucket, name, media, String(metadata.contentType ?? mediaType), ifGenerationMatch);
      }
      if (method === "POST" && uploadType === "resumable") {
        const body = await readBody(req);
        const metadata = body.length ? (JSON.parse(body.toString("utf8")) as Record<string, unknown>) : {};
        const name = String(query.get("name") ?? metadata.name ?? "");
        if (!name) return sendError(res, 400, "required", "Required parameter: name");
        if (!preconditionHolds(res, objects.get(name), ifGenerationMatch)) return;
        const id = randomBytes(12).toString("hex");
        const file = newFile();
        await writeFile(file, "");
        sessions.set(id, {
          id,
          bucket,
          name,
          contentType: String(req.headers["x-upload-content-type"] ?? metadata.contentType ?? "application/octet-stream"),
          ...(ifGenerationMatch !== undefined ? { ifGenerationMatch } : {}),
          file,
          received: 0,
          md5: createHash("md5"),
          crc: new CRC32C(),
        });
        const location = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        res.writeHead(200, { location, "content-length": 0 });
        return res.end();
      }
      if (method === "PUT" && uploadType === "resumable") return resumablePut(req, res, sessions.get(query.get("upload_id") ?? ""), base);
      if (method === "DELETE" && uploadType === "resumable") {
        sessions.delete(query.get("upload_id") ?? "");
        res.writeHead(499, { "content-length": 0 });
        return res.end();
      }
      return sendError(res, 400, "invalid", `Unsupported upload: ${method} uploadType=${uploadType}`);
    }

    if (listPath && method === "GET") {
      const prefix = query.get("prefix") ?? "";
      const maxResults = Math.min(numberParam(query, "maxResults") ?? 1000, 1000);
      const after = query.get("pageToken") ? Buffer.from(query.get("pageToken")!, "base64url").toString("utf8") : undefined;
      const names = [...objects.keys()].filter((n) => n.startsWith(prefix) && (after === undefined || n > after)).sort();
      const page = names.slice(0, maxResults);
      const body: Record<string, unknown> = { kind: "storage#objects", items: page.map((n) => resource(bucket, objects.get(n)!, base)) };
      if (names.length > maxResults) body.nextPageToken = Buffer.from(page[page.length - 1]!).toString("base64url");
      return sendJson(res, 200, body);
    }

    if (objectPath) {
      const name = decodeURIComponent(objectPath[2]!);
      const current = objects.get(name);
      if (objectPath[3] && method === "POST") return compose(req, res, bucket, name, numberParam(query, "ifGenerationMatch"), base);
      if (method === "DELETE") {
        await readBody(req);
        if (!current) return sendError(res, 404, "notFound", `No such object: ${bucket}/${name}`);
        if (!preconditionHolds(res, current, numberParam(query, "ifGenerationMatch"))) return;
        objects.delete(name);
        setTimeout(() => void rm(current.file, { force: true }), 2000).unref();
        res.writeHead(204);
        return res.end();
      }
      if (method === "GET") {
        const generation = numberParam(query, "generation");
        if (!current || (generation !== undefined && generation !== current.generation)) return sendError(res, 404, "notFound", `No such object: ${bucket}/${name}`);
        if (query.get("alt") !== "media") return sendJson(res, 200, resource(bucket, current, base));
        return download(req, res, current);
      }
    }
    return sendError(res, 400, "invalid", `Unsupported request: ${method} ${url.pathname}`);
  };

  const download = async (req: IncomingMessage, res: ServerResponse, o: StoredObject) => {
    const headers: Record<string, string | number> = {
      "content-type": o.contentType,
      "x-goog-generation": o.generation,
      "x-goog-metageneration": 1,
      "x-goog-stored-content-encoding": "identity",
      "x-goog-stored-content-length": o.size,
      "x-goog-hash": `crc32c=${o.crc32c},md5=${o.md5}`,
      "accept-ranges": "bytes",
    };
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ""));
    if (range && o.size > 0) {
      let start = range[1] ? Number(range[1]) : Math.max(0, o.size - Number(range[2]));
      let end = range[1] && range[2] ? Math.min(Number(range[2]), o.size - 1) : o.size - 1;
      if (start >= o.size) {
        res.writeHead(416, { "content-range": `bytes */${o.size}`, "content-length": 0 });
        return res.end();
      }
      if (end < start) [start, end] = [start, o.size - 1];
      res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${o.size}`, "content-length": end - start + 1 });
      return pipeline(createReadStream(o.file, { start, end }), res);
    }
    res.writeHead(200, { ...headers, "content-length": o.size });
    return pipeline(createReadStream(o.file), res);
  };

  const resumablePut = async (req: IncomingMessage, res: ServerResponse, session: UploadSession | undefined, base: string) => {
    if (!session) {
      await readBody(req);
      return sendError(res, 404, "notFound", "No such upload session.");
    }
    const incomplete = () => {
      const headers: Record<string, string | number> = { "content-length": 0 };
      if (session.received > 0) headers.range = `bytes=0-${session.received - 1}`;
      res.writeHead(308, headers);
      res.end();
    };
    if (session.done) {
      await readBody(req);
      return sendJson(res, 200, resource(session.bucket, session.done, base));
    }
    const contentRange = String(req.headers["content-range"] ?? "bytes */*");
    const status = /^bytes \*\/(\d+|\*)$/.exec(contentRange);
    if (status) {
      await readBody(req);
      if (status[1] !== "*" && Number(status[1]) === session.received) return finalize(res, session, base);
      return incomplete();
    }
    const data = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(contentRange);
    if (!data) {
      await readBody(req);
      return sendError(res, 400, "invalid", `Bad Content-Range: ${contentRange}`);
    }
    const start = Number(data[1]);
    if (start > session.received) {
      await readBody(req);
      return sendError(res, 400, "invalid", `Content-Range starts at ${start}, but only ${session.received} bytes were received.`);
    }
    // Bytes the server already has (a client resending after a lost 308) are skipped, as GCS does.
    let skip = session.received - start;
    const out: WriteStream = createWriteStream(session.file, { flags: "a" });
    for await (const chunk of req) {
      let buffer = chunk as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, buffer.length);
        buffer = buffer.subarray(dropped);
        skip -= dropped;
      }
      if (!buffer.length) continue;
      session.md5.update(buffer);
      session.crc.update(buffer);
      session.received += buffer.length;
      if (!out.write(buffer)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const total = data[3] === "*" ? undefined : Number(data[3]);
    // `a-*/*` means "this request carries the rest": the object ends here.
    if ((data[2] === "*" && total === undefined) || (total !== undefined && session.received >= total)) return finalize(res, session, base);
    return incomplete();
  };

  const finalize = (res: ServerResponse, session: UploadSession, base: string) => {
    const objects = buckets.get(session.bucket)!;
    if (!preconditionHolds(res, objects.get(session.name), session.ifGenerationMatch)) {
      sessions.delete(session.id);
      void rm(session.file, { force: true });
      return;
    }
    session.done = commit(session.bucket, session.name, session.file, statSync(session.file).size, session.md5.digest("base64"), session.crc.toString(), session.contentType);
    return sendJson(res, 200, resource(session.bucket, session.done, base));
  };

  const compose = async (req: IncomingMessage, res: ServerResponse, bucket: string, name: string, ifGenerationMatch: number | undefined, base: string) => {
    const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { sourceObjects?: { name: string; generation?: string }[]; destination?: { contentType?: string } };
    const objects = buckets.get(bucket)!;
    const sources = body.sourceObjects ?? [];
    if (sources.length === 0 || sources.length > 32) return sendError(res, 400, "invalid", "The number of source components provided (0) is invalid; it must be between 1 and 32.");
    const found = sources.map((s) => objects.get(s.name));
    const missing = sources.find((s, i) => !found[i] || (s.generation !== undefined && Number(s.generation) !== found[i]!.generation));
    if (missing) return sendError(res, 404, "notFound", `Object ${bucket}/${missing.name} not found.`);
    const file = newFile();
    const md5 = createHash("md5");
    const crc = new CRC32C();
    let size = 0;
    for (const source of found) {
      const bytes = await readFile(source!.file);
      md5.update(bytes);
      crc.update(bytes);
      size += bytes.length;
      await appendFile(file, bytes);
    }
    if (size === 0) await writeFile(file, "");
    // Checked after the awaits above, right before the commit, so concurrent composes cannot both win.
    if (!preconditionHolds(res, objects.get(name), ifGenerationMatch)) return void rm(file, { force: true });
    const stored = commit(bucket, name, file, size, md5.digest("base64"), crc.toString(), body.destination?.contentType ?? found[0]!.contentType);
    return sendJson(res, 200, resource(bucket, stored, base));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, "backendError", String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    createBucket: (name) => void (buckets.has(name) || buckets.set(name, new Map())),
    objectNames: (bucket) => [...(buckets.get(bucket)?.keys() ?? [])].sort(),
    failNext: (count, status, pattern = /./) => void failures.push({ count, status, pattern }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `multipart/related`: a JSON metadata part, then the media part. */
function parseMultipart(contentType: string, body: Buffer): { metadata: Record<string, unknown>; media: Buffer; mediaType: string } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`multipart upload without a boundary: ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: string; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const split = part.indexOf("\r\n\r\n");
    const headers = part.subarray(0, split).toString("utf8");
    let content = part.subarray(split + 4);
    if (content.subarray(content.length - 2).toString() === "\r\n") content = content.subarray(0, content.length - 2);
    parts.push({ headers, body: content });
    at = next;
  }
  if (parts.length < 2) throw new Error(`multipart upload with ${parts.length} parts`);
  const mediaType = /content-type:\s*([^\r\n]+)/i.exec(parts[1]!.headers)?.[1] ?? "application/octet-stream";
  return { metadata: JSON.parse(parts[0]!.body.toString("utf8")) as Record<string, unknown>, media: parts[1]!.body, mediaType };
}
