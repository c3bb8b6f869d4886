import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable, Transform, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isOrchError } from "@orch/core";
import { REWRITE_LIMIT } from "../src/append.js";
import { configSchema } from "../src/index.js";
import { CREDENTIALS_ENV, createGcsStore, SINGLE_REQUEST_LIMIT } from "../src/store.js";
import { startFakeGcs, type FakeGcs } from "./fake-gcs-server.js";
import { openStore, patternStream } from "./helpers.js";

let fake: FakeGcs;
const dirs: string[] = [];
beforeAll(async () => {
  fake = await startFakeGcs({ buckets: ["orch-test"] });
});
afterAll(async () => {
  await fake?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"));
const requestsSince = (start: number) => fake.requests.slice(start);

/** Hashes a stream without keeping it. */
async function md5Of(source: NodeJS.ReadableStream): Promise<{ md5: string; size: number }> {
  const hash = createHash("md5");
  let size = 0;
  await pipeline(
    source,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done();
      },
    }),
  );
  return { md5: hash.digest("hex"), size };
}

describe("gcs store: uploads and downloads", () => {
  it("sends small writes as one multipart request and large ones as a resumable upload", async () => {
    const store = await openStore(fake);
    const start = fake.requests.length;
    await store.write("artifacts/a/meta.json", "{}");
    const small = requestsSince(start);
    expect(small.filter((r) => r.includes("uploadType=multipart"))).toHaveLength(1);
    expect(small.some((r) => r.includes("uploadType=resumable"))).toBe(false);

    const big = Buffer.alloc(SINGLE_REQUEST_LIMIT + 1024, 7);
    const bigStart = fake.requests.length;
    await store.write("artifacts/a/data", big);
    expect(requestsSince(bigStart).some((r) => r.startsWith("POST") && r.includes("uploadType=resumable"))).toBe(true);
    expect(Buffer.from((await store.read("artifacts/a/data"))!).equals(big)).toBe(true);
  });

  it("streams a 256 MB artifact up in resumable chunks and back down with bounded memory", async () => {
    const store = await openStore(fake);
    const size = 256 * 1024 * 1024;
    const expected = await md5Of(patternStream(size));
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const start = fake.requests.length;
      await store.writeStream("artifacts/big/data", patternStream(size));
      const puts = requestsSince(start).filter((r) => r.startsWith("PUT") && r.includes("upload_id="));
      expect(puts.length).toBeGreaterThan(1); // chunked: one PUT per 16 MiB chunk
      const stream = await store.readStream("artifacts/big/data");
      expect(stream).toBeDefined();
      expect(await md5Of(stream!)).toEqual(expected);
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.log(`256 MB round trip: peak RSS growth ${growthMb.toFixed(0)} MB`);
    expect(growthMb).toBeLessThan(160);
  });

  it("readStream of a missing key resolves undefined; writeStream replaces an existing value whole", async () => {
    const store = await openStore(fake);
    expect(await store.readStream("artifacts/none/data")).toBeUndefined();
    await store.write("artifacts/s/data", "old");
    await store.writeStream("artifacts/s/data", patternStream(3 * 1024 * 1024));
    expect((await store.read("artifacts/s/data"))!.byteLength).toBe(3 * 1024 * 1024);
  });

  it("leaves the old value in place when a streamed upload's source fails midway", async () => {
    const store = await openStore(fake);
    await store.write("artifacts/f/data", "previous");
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 20 * 1024 * 1024) return void this.destroy(new Error("source broke"));
        sent += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024, 1));
      },
    });
    const error = await store.writeStream("artifacts/f/data", failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("source broke"); // the caller's error as it is, not dressed up as a storage failure
    expect(text(await store.read("artifacts/f/data"))).toBe("previous");
    await expect(store.writeStream("artifacts/g/data", patternStream(1).pipe(new Transform({ transform: (_c, _e, done) => done(new Error("broke at once")) })))).rejects.toThrow(/broke at once/);
    expect(await store.exists("artifacts/g/data")).toBe(false);
  });

  it("retries 503s with the SDK's backoff instead of failing the write or read", async () => {
    const store = await openStore(fake);
    fake.failNext(2, 503, /uploadType=multipart/);
    await store.write("runs/r/run.json", '{"ok":true}');
    fake.failNext(1, 503, /alt=media/);
    expect(text(await store.read("runs/r/run.json"))).toBe('{"ok":true}');
  });

  it("resumes a chunked upload after a failed chunk (status query, 308 + Range, resend)", async () => {
    const store = await openStore(fake);
    const size = 40 * 1024 * 1024;
    const expected = await md5Of(patternStream(size));
    const start = fake.requests.length;
    fake.failNext(1, 503, /^PUT .*upload_id=/);
    await store.writeStream("artifacts/resume/data", patternStream(size));
    const puts = requestsSince(start).filter((r) => r.startsWith("PUT"));
    const ranges = puts.map((p) => /\[Content-Range: (.*)\]/.exec(p)?.[1]);
    // The first chunk failed; the client asked where the session stood, then sent it again.
    expect(ranges).toEqual(["bytes 0-16777215/*", "bytes */*", "bytes 0-16777215/*", "bytes 16777216-33554431/*", "bytes 33554432-41943039/41943040"]);
    expect(await md5Of((await store.readStream("artifacts/resume/data"))!)).toEqual(expected);
  });
});

describe("gcs store: keys and listing", () => {
  it("lists past one page (2,001 keys) and deletes them all by prefix", async () => {
    const store = await openStore(fake);
    const keys = Array.from({ length: 2001 }, (_, i) => `artifacts/many/k${String(i).padStart(5, "0")}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => store.write(k, "x")));
    await store.write("artifacts/other/data", "y");
    const start = fake.requests.length;
    expect(await store.list("artifacts/many/")).toEqual(keys);
    const pages = requestsSince(start).filter((r) => r.startsWith("GET") && /\/o\?/.test(r));
    expect(pages).toHaveLength(3);
    expect(pages.filter((r) => r.includes("pageToken="))).toHaveLength(2);
    await store.delete("artifacts/many/");
    expect(await store.list("artifacts/many/")).toEqual([]);
    expect(await store.list("artifacts/")).toEqual(["artifacts/other/data"]);
  });

  it("stores keys made of every allowed character", async () => {
    const store = await openStore(fake);
    const keys = [
      "runs/ABCDEFGHIJKLMNOPQRSTUVWXYZ/abcdefghijklmnopqrstuvwxyz.json",
      "runs/0123456789/_-.log",
      "artifacts/a.b-c_d/...",
      "artifacts/.hidden/-x-/_y_/z.",
    ];
    for (const key of keys) await store.write(key, key);
    for (const key of keys) {
      expect(text(await store.read(key))).toBe(key);
      expect(await store.exists(key)).toBe(true);
    }
    expect((await store.list("runs/")).concat(await store.list("artifacts/")).sort()).toEqual([...keys].sort());
    for (const key of keys) await store.delete(key);
    expect(await store.list("runs/")).toEqual([]);
  });

  it("refuses keys outside the allowed characters before any request", async () => {
    const store = await openStore(fake);
    const start = fake.requests.length;
    for (const key of ["runs/a b.json", "runs/ü.json", "runs/a%2F..%2Fb", "runs//x", "", "runs/a?b", "runs/a#b", "runs/a~append-1"]) {
      await expect(store.write(key, "x"), key).rejects.toThrow(/Unsafe artifact store key/);
    }
    expect(requestsSince(start)).toEqual([]);
  });

  it("keeps each store inside its prefix", async () => {
    const a = await openStore(fake);
    const b = await openStore(fake);
    await a.write("runs/x/run.json", "a");
    expect(await b.exists("runs/x/run.json")).toBe(false);
    expect(await b.list("runs/")).toEqual([]);
  });
});

describe("gcs store: concurrency and conditional writes", () => {
  it("writeIfAbsent lets exactly one of many concurrent writers create a key (ifGenerationMatch=0)", async () => {
    const store = await openStore(fake);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.writeIfAbsent("runs/c/steps/s.json", `writer-${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(text(await store.read("runs/c/steps/s.json"))).toBe(`writer-${winner}`);
    expect(await store.writeIfAbsent("runs/c/steps/s.json", "late")).toBe(false);
    expect(text(await store.read("runs/c/steps/s.json"))).toBe(`writer-${winner}`);
  });

  it("concurrent writers of one key from separate clients leave one whole value", async () => {
    const stores = [await openStore(fake)];
    const described = stores[0]!.describe();
    for (let i = 0; i < 3; i++) stores.push(await createGcsStore(configSchema.parse(described.config), { projectRoot: process.cwd() }));
    const values = stores.map((_, i) => `${i}:${"v".repeat(200_000 + i)}`);
    await Promise.all(stores.map((s, i) => s.write("runs/c/run.json", values[i]!)));
    expect(values).toContain(text(await stores[0]!.read("runs/c/run.json")));
  });
});

describe("gcs store: log appends", () => {
  it("makes each appended line readable at once, from another client", async () => {
    const writer = await openStore(fake);
    const reader = await createGcsStore(configSchema.parse(writer.describe().config), { projectRoot: process.cwd() });
    await writer.append("runs/l/logs/s.log", "one\n");
    expect(text(await reader.read("runs/l/logs/s.log"))).toBe("one\n");
    await writer.append("runs/l/logs/s.log", "two\n");
    expect(text(await reader.read("runs/l/logs/s.log"))).toBe("one\ntwo\n");
  });

  it("keeps every line of two clients appending to one log at once", async () => {
    const a = await openStore(fake);
    const b = await createGcsStore(configSchema.parse(a.describe().config), { projectRoot: process.cwd() });
    const lines = (who: string) => Array.from({ length: 30 }, (_, i) => `${who}-${i}\n`);
    await Promise.all([
      (async () => {
        for (const line of lines("a")) await a.append("runs/l/logs/both.log", line);
      })(),
      (async () => {
        for (const line of lines("b")) await b.append("runs/l/logs/both.log", line);
      })(),
    ]);
    const got = text(await a.read("runs/l/logs/both.log"))!.split("\n").filter(Boolean);
    expect([...got].sort()).toEqual([...lines("a"), ...lines("b")].map((l) => l.trim()).sort());
    // Each client's own lines stay in order.
    expect(got.filter((l) => l.startsWith("a-"))).toEqual(lines("a").map((l) => l.trim()));
  });

  it("keeps every line of two clients appending to a log past the rewrite limit (compose races)", async () => {
    const a = await openStore(fake);
    const b = await createGcsStore(configSchema.parse(a.describe().config), { projectRoot: process.cwd() });
    const head = `${"h".repeat(1023)}\n`.repeat(Math.ceil(REWRITE_LIMIT / 1024) + 1);
    await a.append("runs/l/logs/bigboth.log", head);
    const lines = (who: string) => Array.from({ length: 12 }, (_, i) => `${who}-${i}\n`);
    const start = fake.requests.length;
    await Promise.all(
      ["a", "b"].map(async (who) => {
        for (const line of lines(who)) await (who === "a" ? a : b).append("runs/l/logs/bigboth.log", line);
      }),
    );
    const log = text(await a.read("runs/l/logs/bigboth.log"))!;
    expect(log.startsWith(head)).toBe(true);
    const tail = log.slice(head.length).split("\n").filter(Boolean);
    expect([...tail].sort()).toEqual([...lines("a"), ...lines("b")].map((l) => l.trim()).sort());
    expect(requestsSince(start).some((r) => r.includes("/compose?"))).toBe(true);
    expect(await a.list("runs/l/logs/")).toEqual(["runs/l/logs/bigboth.log"]);
  });

  it("appends correctly to more logs than it keeps cached (older ones are reloaded)", async () => {
    const store = await openStore(fake);
    const keys = Array.from({ length: 40 }, (_, i) => `runs/m/logs/s${i}.log`);
    for (const key of keys) await store.append(key, "first\n");
    const start = fake.requests.length;
    for (const key of keys) await store.append(key, "second\n");
    for (const key of keys) expect(text(await store.read(key)), key).toBe("first\nsecond\n");
    // The 32 most recent logs were still cached; the others needed a lookup.
    expect(requestsSince(start).filter((r) => r.startsWith("GET") && !r.includes("alt=media") && r.includes("logs%2Fs")).length).toBeGreaterThan(0);
  });

  it("coalesces appends made while a flush is in flight", async () => {
    const store = await openStore(fake);
    const start = fake.requests.length;
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.append("runs/l/logs/burst.log", `${i}\n`)));
    const uploads = requestsSince(start).filter((r) => r.startsWith("POST /upload"));
    expect(uploads.length).toBeLessThan(5);
    expect(text(await store.read("runs/l/logs/burst.log"))).toBe(Array.from({ length: 50 }, (_, i) => `${i}\n`).join(""));
  });

  it("composes onto logs past the rewrite limit instead of re-uploading them", async () => {
    const store = await openStore(fake);
    const line = `${"z".repeat(1023)}\n`;
    const big = line.repeat(Math.ceil(REWRITE_LIMIT / line.length) + 1);
    await store.append("runs/l/logs/big.log", big);
    const start = fake.requests.length;
    await store.append("runs/l/logs/big.log", "tail 1\n");
    await store.append("runs/l/logs/big.log", "tail 2\n");
    const after = requestsSince(start);
    expect(after.filter((r) => /\/compose\?.*ifGenerationMatch=\d+/.test(r))).toHaveLength(2);
    expect(after.filter((r) => r.startsWith("GET"))).toEqual([]); // neither downloaded nor even looked up again
    expect(text(await store.read("runs/l/logs/big.log"))).toBe(`${big}tail 1\ntail 2\n`);
    expect(await store.list("runs/l/logs/")).toEqual(["runs/l/logs/big.log"]); // no leftover chunk objects
    const reopened = await createGcsStore(configSchema.parse(store.describe().config), { projectRoot: process.cwd() });
    await reopened.append("runs/l/logs/big.log", "tail 3\n");
    expect(text(await store.read("runs/l/logs/big.log"))).toBe(`${big}tail 1\ntail 2\ntail 3\n`);
  });
});

describe("gcs store: config and describe()", () => {
  it("validates gs:// paths and bucket names with a clear message", () => {
    const bad: [string, RegExp][] = [
      ["s3://bucket/x", /must start with gs:\/\//],
      ["gs://", /names no bucket/],
      ["gs:///prefix", /names no bucket/],
      ["gs://ab", /shorter than 3/],
      ["gs://My-Bucket/x", /lower-case/],
      ["gs://-bucket", /start and end/],
      ["gs://bücket", /lower-case/],
      ["gs://192.168.1.1", /IP address/],
      ["gs://goog-bucket", /goog/],
      ["gs://my-google-bucket", /google/],
      [`gs://${"a".repeat(64)}`, /longer than 63/],
      ["gs://bucket/../x", /"\.\."/],
      ["gs://bucket/a?b", /'\?'/],
    ];
    for (const [path, message] of bad) {
      const parsed = configSchema.safeParse({ path });
      expect(parsed.success, path).toBe(false);
      expect(parsed.error!.issues[0]!.message, path).toMatch(message);
    }
    for (const path of ["gs://my-bucket", "gs://my-bucket/", "gs://my_bucket.example.com/a/b/", "gs://b12/orch"]) expect(configSchema.safeParse({ path }).success, path).toBe(true);
    expect(configSchema.safeParse({ path: "gs://my-bucket", bucket: "x" }).success).toBe(false);
  });

  it("never puts inline credentials into describe(), which travels to child processes", async () => {
    const secret = JSON.stringify({ type: "service_account", client_email: "x@y.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n" });
    const store = await openStore(fake, { credentials: secret, project: "p1" });
    const described = JSON.stringify(store.describe());
    expect(described).not.toContain("SECRET");
    expect(described).not.toContain("credentials");
    expect(store.describe().config).toMatchObject({ project: "p1", apiEndpoint: fake.url });
    // …they reach child processes and containers through env() instead, and open the same store there.
    expect(JSON.parse(store.env!()["ORCH_GCS_CREDENTIALS"]!)).toEqual(JSON.parse(secret));
    expect((await openStore(fake, { project: "p1" })).env!()).toEqual({});
  });

  it("refuses inline credentials that are not JSON without echoing them", async () => {
    const error = await openStore(fake, { credentials: "not-json-SECRET" }).catch((e: unknown) => e);
    expect(isOrchError(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/credentials are not a JSON object/);
    expect(String((error as Error).message)).not.toContain("SECRET");
  });
});

describe("gcs store: preflight and failures", () => {
  const tokenFile = (token: string) => {
    const dir = mkdtempSync(join(tmpdir(), "orch-gcs-cred-"));
    dirs.push(dir);
    writeFileSync(join(dir, "subject-token"), token);
    // Workload-identity-style credentials: the token exchange goes to the fake's /token endpoint.
    const key = join(dir, "credentials.json");
    writeFileSync(
      key,
      JSON.stringify({
        type: "external_account",
        audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/orch/providers/test",
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        token_url: `${fake.url}/token`,
        credential_source: { file: join(dir, "subject-token") },
      }),
    );
    return key;
  };

  let authed: FakeGcs;
  beforeAll(async () => {
    authed = await startFakeGcs({ buckets: ["orch-secure", "orch-other"], tokens: { "good-token": { buckets: ["orch-secure"] } } });
  });
  afterAll(async () => authed?.close());

  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOrchError(error), String(error)).toBe(true);
    return error as Error & { code: string; hint: string; key?: string };
  };

  it("passes for a reachable, writable bucket and leaves nothing behind", async () => {
    const store = await openStore(fake);
    await store.preflight();
    expect(await store.list("")).toEqual([]);
    const key = tokenFile("good-token");
    const secure = await openStore(authed, { keyFile: key }, "orch-secure");
    await secure.preflight();
    await secure.write("runs/a/run.json", "{}");
    expect(authed.objectNames("orch-secure").some((n) => n.endsWith("runs/a/run.json"))).toBe(true);
  });

  it("names the store, the path and the fix for a bucket that does not exist", async () => {
    const store = await openStore(fake, {}, "no-such-bucket");
    const error = await failure(store.preflight());
    expect(error.message).toMatch(/\[gcs\].*gs:\/\/no-such-bucket\/p\d+-\d+\/.*bucket "no-such-bucket" does not exist/);
    expect(error.hint).toContain("gcloud storage buckets create gs://no-such-bucket");
    expect(error.key).toBe("path");
    // Reads do not mistake a missing bucket for a missing key.
    await failure(store.read("runs/x/run.json"));
  });

  it("says access denied (403) and which role to grant", async () => {
    const store = await openStore(authed, { keyFile: tokenFile("good-token") }, "orch-other");
    const error = await failure(store.preflight());
    expect(error.message).toMatch(/\[gcs\].*gs:\/\/orch-other\/.*access denied \(403/);
    expect(error.hint).toMatch(/roles\/storage\.objectAdmin on gs:\/\/orch-other/);
  });

  it("says the credentials were rejected (401) and how to log in", async () => {
    const store = await openStore(authed, { keyFile: tokenFile("expired-token") }, "orch-secure");
    const error = await failure(store.preflight());
    expect(error.message).toMatch(/\[gcs\].*gs:\/\/orch-secure\/.*credentials were rejected \(401/);
    expect(error.hint).toMatch(/gcloud auth application-default login/);
  });

  it("says credentials are missing when the endpoint needs them and none were given", async () => {
    const store = await openStore(authed, {}, "orch-secure");
    const error = await failure(store.preflight());
    expect(error.message).toMatch(/\[gcs\].*gs:\/\/orch-secure\/.*credentials were rejected \(401: Anonymous caller/);
    expect(error.hint).toMatch(/--key_file/);
  });

  it("authenticates with inline credentials, and with ORCH_GCS_CREDENTIALS in a child process that got describe()", async () => {
    const inline = JSON.parse(readFileSync(tokenFile("good-token"), "utf8")) as Record<string, unknown>;
    const store = await openStore(authed, { credentials: inline }, "orch-secure");
    await store.write("runs/i/run.json", "inline");
    const described = store.describe();
    expect(described.config.credentials).toBeUndefined();
    const without = await createGcsStore(configSchema.parse(described.config), { projectRoot: process.cwd() });
    await failure(without.read("runs/i/run.json"));
    process.env[CREDENTIALS_ENV] = JSON.stringify(inline);
    try {
      const child = await createGcsStore(configSchema.parse(described.config), { projectRoot: process.cwd() });
      expect(text(await child.read("runs/i/run.json"))).toBe("inline");
    } finally {
      delete process.env[CREDENTIALS_ENV];
    }
  });

  it("names the endpoint when nothing listens there", async () => {
    const store = await createGcsStore(configSchema.parse({ path: "gs://orch-test/x", apiEndpoint: "http://127.0.0.1:9" }), { projectRoot: process.cwd() });
    const error = await failure(store.preflight());
    expect(error.message).toMatch(/\[gcs\].*gs:\/\/orch-test\/x\/.*cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    expect(error.code).toBe("E_BACKEND_UNAVAILABLE");
  });

  it("says the key file is missing", async () => {
    const store = await openStore(authed, { keyFile: "/nonexistent/orch-key.json" }, "orch-secure");
    const error = await failure(store.preflight());
    expect(error.message).toMatch(/\[gcs\].*key file \/nonexistent\/orch-key\.json does not exist/);
    expect(error.key).toBe("keyFile");
  });
});
