// Runs s3rver (a real S3 protocol server) in its own process on 127.0.0.1, so the memory of the
// tests' process measures only the client. Prints "PORT <n>" once listening.
//   node s3rver-child.cjs <directory> [bucket…]
//
// s3rver 3.7 (the current release) differs from S3 in four ways the store relies on; this file closes
// exactly those gaps in front of / inside s3rver, and the package README lists them:
//  1. S3 PUTs are atomic; s3rver streams concurrent PUTs of one key into the same file (a mix of both).
//     → object writes (PUT, CompleteMultipartUpload, DELETE) of one key are serialized here.
//  2. S3 honours `If-None-Match: *` on PUT / CompleteMultipartUpload (conditional writes, 2024);
//     s3rver ignores it. → an existing key answers 412 PreconditionFailed, as S3 documents.
//  3. s3rver's DeleteObjects deletes keys in parallel and its empty-folder clean-up then races
//     (InternalError on ENOENT). → that clean-up ignores folders already gone.
//  4. S3 GETs see a whole object; s3rver truncates the file and streams a PUT into it, so a GET during
//     the PUT reads a part, and a PUT during a GET truncates what the GET streams. → a GET or HEAD of a
//     key takes the key's turn like a write (reads and writes of one key do not overlap).
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const S3rver = require("s3rver");
const FilesystemStore = require("s3rver/lib/stores/filesystem");

FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  for (const resource of ["object", "object.md5", "metadata.json"]) {
    await fs.promises.unlink(this.getResourcePath(bucket, key, resource)).catch((error) => {
      if (error.code !== "ENOENT") throw error;
    });
  }
  const parts = key.split("/");
  parts.pop();
  for (; parts.length; parts.pop()) {
    try {
      await fs.promises.rmdir(path.join(this.getBucketPath(bucket), ...parts));
    } catch (error) {
      if (["ENOENT", "ENOTEMPTY", "EEXIST"].includes(error.code)) break;
      throw error;
    }
  }
};

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: !process.env.S3RVER_VERBOSE, configureBuckets: buckets.map((name) => ({ name })) });
const handle = server.callback();

const locks = new Map();
/** Runs `work(release)` after earlier holders of `key` released it. */
function withLock(key, work) {
  const previous = locks.get(key) ?? Promise.resolve();
  let release;
  const current = new Promise((resolve) => (release = resolve));
  const tail = previous.then(() => current);
  locks.set(key, tail);
  tail.then(() => locks.get(key) === tail && locks.delete(key));
  previous.then(() => work(release));
}

function objectOf(req) {
  const url = new URL(req.url, "http://x");
  const [bucket, ...rest] = url.pathname.split("/").slice(1).map(decodeURIComponent);
  const key = rest.join("/");
  const writes =
    (req.method === "PUT" && key && !url.searchParams.has("partNumber")) ||
    (req.method === "POST" && key && url.searchParams.has("uploadId")) ||
    (req.method === "DELETE" && key && !url.searchParams.has("uploadId"));
  return writes ? { bucket, key } : undefined;
}

/** A GET or HEAD of an object (not a listing, not a multipart part). */
function readOf(req) {
  if (req.method !== "GET" && req.method !== "HEAD") return undefined;
  const url = new URL(req.url, "http://x");
  const [bucket, ...rest] = url.pathname.split("/").slice(1).map(decodeURIComponent);
  const key = rest.join("/");
  return key ? `${bucket}/${key}` : undefined;
}

const front = http.createServer((req, res) => {
  const object = objectOf(req);
  const read = readOf(req);
  if (read) {
    return withLock(read, (release) => {
      res.once("close", release);
      handle(req, res);
    });
  }
  if (!object) return handle(req, res);
  withLock(`${object.bucket}/${object.key}`, async (release) => {
    res.once("close", release);
    try {
      if (req.headers["if-none-match"] === "*" && req.method !== "DELETE" && (await server.store.existsObject(object.bucket, object.key))) {
        req.resume();
        req.once("end", () => {
          res.writeHead(412, { "Content-Type": "application/xml" });
          res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>');
        });
        return;
      }
      handle(req, res);
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
});

server
  .configureBuckets()
  .then(() => new Promise((resolve) => front.listen(0, "127.0.0.1", resolve)))
  .then(() => console.log(`PORT ${front.address().port}`))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
process.on("disconnect", () => process.exit(0));
