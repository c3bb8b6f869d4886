import { afterAll, describe, it } from "vitest";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import type { ArtifactStore } from "@orch/core/plugin";
import { ConformanceError, describeError } from "./errors.js";

/** Options of {@link testArtifactStore}. */
export interface ArtifactStoreConformanceOptions {
  /** Opens a fresh, empty store (a temp folder, a fake bucket on 127.0.0.1 …). */
  create: () => ArtifactStore | Promise<ArtifactStore>;
  /**
   * Opens the same store again from `store.describe()`, as `orch-entrypoint --artifact-store` does in
   * another process. Omit to skip that check.
   */
  reopen?: (described: { flavor: string; config: Record<string, unknown> }) => ArtifactStore | Promise<ArtifactStore>;
  /** Called after the suite (delete temp folders, stop servers). */
  cleanup?: () => void | Promise<void>;
  /**
   * Stores that are wrong in a way `preflight()` must catch, by case name: a missing bucket, wrong
   * credentials, an unwritable folder. Each must reject with an `OrchError` (code, hint, the flavor).
   */
  misconfigured?: Record<string, () => ArtifactStore | Promise<ArtifactStore>>;
  /** Size of the object streamed through `writeStream`/`readStream`. @default 256 MiB */
  largeObjectBytes?: number;
  /** Allowed growth of this process's peak RSS while streaming it. @default 150 MiB */
  maxRssGrowthBytes?: number;
  /** Check names to skip, with the reason (printed). */
  skip?: Partial<Record<string, string>>;
}

type StoreCheck = (store: ArtifactStore, options: ArtifactStoreConformanceOptions) => Promise<void>;

const MiB = 1024 * 1024;
const SECRET_NAME = /(secret|token|password|passphrase|api[-_]?key|access[-_]?key|credential|private[-_]?key|connection[-_]?string|sas)/i;

/** `count` MiB-sized chunks of a pattern that differs per chunk, made on the fly (never all in memory). */
function generated(bytes: number, hash: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  let index = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const size = Math.min(MiB, bytes - sent);
      const chunk = Buffer.alloc(size, (index++ * 7919) % 251);
      chunk.writeUInt32BE(index, 0);
      hash.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
}

/** Peak RSS growth (bytes) of this process while `work` runs, sampled every 10 ms. */
async function rssGrowth<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, growth: peak - base };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `tasks` with at most `limit` in flight. */
async function inBatches(count: number, limit: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) await task(next++);
  }));
}

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"));

function fail(check: string, store: ArtifactStore, message: string): never {
  throw new ConformanceError(check, store.flavor, message);
}

/** Checks every artifact-store flavor must pass, by name. Each is a plain async function. */
export const artifactStoreChecks: Record<string, { title: string; check: StoreCheck; requires?: (store: ArtifactStore) => string | undefined; timeout?: number }> = {
  "read-write": {
    title: "reads back what it wrote (text and bytes), and undefined for a missing key",
    async check(store) {
      await store.write("runs/r1/run.json", '{"a":1}');
      if (text(await store.read("runs/r1/run.json")) !== '{"a":1}') fail("read-write", store, "read() did not return the text written under runs/r1/run.json.");
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      await store.write("artifacts/x/data", bytes);
      const back = await store.read("artifacts/x/data");
      if (!back || !isDeepStrictEqual([...back], [...bytes])) fail("read-write", store, "read() did not return the exact bytes written under artifacts/x/data.");
      if ((await store.read("runs/nope/run.json")) !== undefined) fail("read-write", store, "read() of a missing key must resolve undefined, not throw or return empty data.");
      await store.write("runs/r1/run.json", '{"a":2}');
      if (text(await store.read("runs/r1/run.json")) !== '{"a":2}') fail("read-write", store, "writing an existing key must replace its value.");
    },
  },
  exists: {
    title: "says whether a key exists",
    async check(store) {
      await store.write("cache/k.json", "{}");
      if (!(await store.exists("cache/k.json"))) fail("exists", store, "exists() is false for a key just written.");
      if (await store.exists("cache/missing.json")) fail("exists", store, "exists() is true for a key never written.");
    },
  },
  list: {
    title: "lists every key under a prefix, and only those",
    async check(store) {
      await Promise.all(["runs/a/run.json", "runs/a/steps/s1.json", "runs/a/steps/s2.json", "runs/b/run.json", "artifacts/z/data"].map((k) => store.write(k, "x")));
      const under = (await store.list("runs/a/")).sort();
      if (!isDeepStrictEqual(under, ["runs/a/run.json", "runs/a/steps/s1.json", "runs/a/steps/s2.json"])) {
        fail("list", store, `list("runs/a/") returned ${JSON.stringify(under)}; it must return full keys of everything under the prefix, recursively.`);
      }
      if ((await store.list("nothing/")).length !== 0) fail("list", store, "list() of an empty prefix must return [].");
    },
  },
  delete: {
    title: "deletes a key, and everything under a prefix ending in /",
    async check(store) {
      await Promise.all(["runs/d/run.json", "runs/d/steps/a.json", "runs/e/run.json"].map((k) => store.write(k, "x")));
      await store.delete("runs/e/run.json");
      if (await store.exists("runs/e/run.json")) fail("delete", store, "delete(key) left the key in place.");
      await store.delete("runs/d/");
      if ((await store.list("runs/d/")).length !== 0) fail("delete", store, 'delete("runs/d/") must remove everything under the prefix.');
      await store.delete("runs/never/written.json");
    },
  },
  "unsafe-keys": {
    title: "refuses keys that escape the store",
    async check(store) {
      for (const key of ["../outside.json", "runs/../../x", "/abs/path"]) {
        let refused = false;
        try {
          await store.write(key, "x");
        } catch {
          refused = true;
        }
        if (!refused) fail("unsafe-keys", store, `write(${JSON.stringify(key)}) was accepted; keys with "..", "." or a leading "/" must be refused.`);
      }
    },
  },
  concurrency: {
    title: "keeps concurrent writes whole",
    async check(store) {
      const big = "y".repeat(256 * 1024);
      await Promise.all(Array.from({ length: 16 }, (_, i) => store.write(`runs/c/steps/s${i}.json`, `${i}:${big}`)));
      const values = await Promise.all(Array.from({ length: 16 }, (_, i) => store.read(`runs/c/steps/s${i}.json`)));
      values.forEach((value, i) => {
        if (text(value) !== `${i}:${big}`) fail("concurrency", store, `concurrent writes lost or mixed the value of runs/c/steps/s${i}.json.`);
      });
      await Promise.all(Array.from({ length: 8 }, (_, i) => store.write("runs/c/run.json", `${i}:${big}`)));
      const last = text(await store.read("runs/c/run.json")) ?? "";
      if (!/^\d:/.test(last) || last.length !== big.length + 2) fail("concurrency", store, "concurrent writes to one key left a partial value; writes must be atomic.");
    },
  },
  "one-key-writers": {
    title: "leaves one whole value when writers race on one key (never a mix)",
    async check(store) {
      // Each writer's value is one repeated letter, so a mix of two writes is visible anywhere in it.
      const values = Array.from({ length: 6 }, (_, i) => String.fromCharCode(97 + i).repeat(2 * MiB));
      await Promise.all(values.map((value) => store.write("runs/w/steps/s.json", value)));
      const result = text(await store.read("runs/w/steps/s.json"));
      if (result === undefined || !values.includes(result)) {
        fail("one-key-writers", store, `six concurrent write()s of one key left a value that is none of them (${result === undefined ? "missing" : `${result.length} bytes, starts "${result.slice(0, 8)}", ends "${result.slice(-8)}"`}); writes must replace the whole object atomically.`);
      }
    },
  },
  "write-if-absent": {
    title: "lets exactly one of racing conditional creates win (writeIfAbsent)",
    requires: (store) => (store.writeIfAbsent ? undefined : "the store has no writeIfAbsent()"),
    async check(store) {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.writeIfAbsent!("runs/x/steps/s.json", `writer ${i}`)));
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      if (winners.length !== 1) fail("write-if-absent", store, `${winners.length} of 6 racing writeIfAbsent() calls reported a win; exactly one must (If-None-Match: * or an exclusive create).`);
      const value = text(await store.read("runs/x/steps/s.json"));
      if (value !== `writer ${winners[0]}`) fail("write-if-absent", store, `the key holds ${JSON.stringify(value)}, not the winner's value "writer ${winners[0]}".`);
      if (await store.writeIfAbsent!("runs/x/steps/s.json", "late")) fail("write-if-absent", store, "writeIfAbsent() on an existing key returned true.");
      if (text(await store.read("runs/x/steps/s.json")) !== `writer ${winners[0]}`) fail("write-if-absent", store, "writeIfAbsent() on an existing key changed its value.");
    },
  },
  "list-pages": {
    title: "lists past one page (more than 1,000 keys) and keeps sibling prefixes apart",
    async check(store) {
      const count = 1_005;
      const keys = Array.from({ length: count }, (_, i) => `runs/p/steps/s${String(i).padStart(4, "0")}.json`);
      await inBatches(count, 32, (i) => store.write(keys[i]!, "{}"));
      await store.write("runs/p2/run.json", "{}");
      const listed = await store.list("runs/p/");
      if (listed.length !== count || new Set(listed).size !== count || !keys.every((key) => listed.includes(key))) {
        fail("list-pages", store, `list("runs/p/") returned ${listed.length} keys (${new Set(listed).size} distinct) for ${count} written; follow every page (continuation tokens) and return each key once.`);
      }
      if (listed.includes("runs/p2/run.json")) fail("list-pages", store, 'list("runs/p/") returned runs/p2/run.json; a prefix ending in "/" must not match a sibling folder.');
      await store.delete("runs/p/");
      const left = await store.list("runs/p/");
      if (left.length !== 0) fail("list-pages", store, `delete("runs/p/") left ${left.length} of ${count} keys; delete in batches until the prefix is empty.`);
      if (!(await store.exists("runs/p2/run.json"))) fail("list-pages", store, 'delete("runs/p/") removed runs/p2/run.json, a sibling folder.');
    },
  },
  "key-characters": {
    title: "stores keys with every allowed character ([A-Za-z0-9_.-] segments, none ending in \".\")",
    async check(store) {
      const keys = [
        "artifacts/ABCDEFGHIJKLMNOPQRSTUVWXYZ/abcdefghijklmnopqrstuvwxyz/0123456789/data",
        "artifacts/_.-/a.b-c_d/data.tmp-1",
        "runs/-lead/steps/.hidden",
        "runs/__/logs/...log",
        "runs/a..b/steps/.trailing_",
        `runs/${"long-".repeat(40)}x/run.json`,
      ];
      for (const key of keys) {
        await store.write(key, key);
        if (text(await store.read(key)) !== key) fail("key-characters", store, `read(${JSON.stringify(key)}) did not return what was written.`);
        if (!(await store.exists(key))) fail("key-characters", store, `exists(${JSON.stringify(key)}) is false after a write.`);
      }
      const listed = [...(await store.list("artifacts/")), ...(await store.list("runs/"))].sort();
      if (!isDeepStrictEqual(listed, [...keys].sort())) fail("key-characters", store, `list() returned ${JSON.stringify(listed)}; expected exactly ${JSON.stringify([...keys].sort())}.`);
      for (const key of keys) await store.delete(key);
      if ((await store.list("runs/")).length + (await store.list("artifacts/")).length !== 0) fail("key-characters", store, "delete() left keys with unusual characters behind.");
    },
  },
  "stream-large": {
    title: "streams a large object in and out with bounded memory (writeStream / readStream)",
    requires: (store) => (store.writeStream && store.readStream ? undefined : "the store has no writeStream()/readStream()"),
    timeout: 600_000,
    async check(store, options) {
      const bytes = options.largeObjectBytes ?? 256 * MiB;
      const budget = options.maxRssGrowthBytes ?? 150 * MiB;
      const written = createHash("sha256");
      const upload = await rssGrowth(() => store.writeStream!("artifacts/big/data", generated(bytes, written), { size: bytes }));
      if (upload.growth > budget) fail("stream-large", store, `writeStream() of ${bytes / MiB} MiB grew RSS by ${(upload.growth / MiB).toFixed(0)} MiB (budget ${budget / MiB} MiB); it must not hold the object in memory.`);
      const read = createHash("sha256");
      const download = await rssGrowth(async () => {
        const stream = await store.readStream!("artifacts/big/data");
        if (!stream) fail("stream-large", store, "readStream() of a key just written resolved undefined.");
        let size = 0;
        for await (const chunk of stream) {
          size += (chunk as Buffer).length;
          read.update(chunk as Buffer);
        }
        return size;
      });
      if (download.value !== bytes || read.digest("hex") !== written.digest("hex")) fail("stream-large", store, `readStream() returned ${download.value} bytes that differ from the ${bytes} written.`);
      if (download.growth > budget) fail("stream-large", store, `readStream() of ${bytes / MiB} MiB grew RSS by ${(download.growth / MiB).toFixed(0)} MiB (budget ${budget / MiB} MiB).`);
      if ((await store.readStream!("artifacts/none/data")) !== undefined) fail("stream-large", store, "readStream() of a missing key must resolve undefined.");
      await store.delete("artifacts/big/");
    },
  },
  "stream-failure": {
    title: "leaves nothing half-written when a stream fails mid-upload",
    requires: (store) => (store.writeStream ? undefined : "the store has no writeStream()"),
    async check(store) {
      await store.write("artifacts/f/data", "old");
      async function* failing() {
        for (let i = 0; i < 12; i++) yield Buffer.alloc(MiB, i);
        throw new Error("source broke");
      }
      let rejected = false;
      try {
        await store.writeStream!("artifacts/f/data", failing());
      } catch {
        rejected = true;
      }
      if (!rejected) fail("stream-failure", store, "writeStream() resolved although its source threw; it must reject.");
      if (text(await store.read("artifacts/f/data")) !== "old") fail("stream-failure", store, "a failed writeStream() changed the existing value; it must keep the old one.");
      let rejectedNew = false;
      try {
        await store.writeStream!("artifacts/g/data", failing());
      } catch {
        rejectedNew = true;
      }
      if (!rejectedNew || (await store.exists("artifacts/g/data"))) fail("stream-failure", store, "a failed writeStream() of a new key left an object behind.");
      const left = (await store.list("artifacts/")).filter((key) => key !== "artifacts/f/data");
      if (left.length) fail("stream-failure", store, `a failed writeStream() left ${JSON.stringify(left)} in list().`);
    },
  },
  append: {
    title: "appends log lines when it supports append",
    async check(store) {
      if (!store.append) return;
      await store.append("runs/l/logs/s.log", "one\n");
      await store.append("runs/l/logs/s.log", "two\n");
      await store.flush?.("runs/l/logs/s.log");
      if (text(await store.read("runs/l/logs/s.log")) !== "one\ntwo\n") fail("append", store, "append() (then flush()) must add text at the end of the key, creating it first.");
      await store.append("runs/l/logs/s.log", "three\n");
      await store.flush?.();
      if (text(await store.read("runs/l/logs/s.log")) !== "one\ntwo\nthree\n") fail("append", store, "flush() without a key must make every buffered append durable.");
    },
  },
  "atomic-append": {
    title: "a store that declares atomicAppend has every append readable at once, whole, whatever else appends",
    requires: (store) => (store.atomicAppend ? undefined : "the store does not declare atomicAppend (step records stay one object each)"),
    async check(store) {
      // Core appends step records to runs/<id>/steps.jsonl on such a store and reads them back while
      // other writers append: no flush, no lost or mixed line.
      const line = (i: number) => `${JSON.stringify({ i, pad: "x".repeat(2000 + i) })}\n`;
      await Promise.all(Array.from({ length: 32 }, (_, i) => store.append!("runs/j/steps.jsonl", line(i))));
      const lines = (text(await store.read("runs/j/steps.jsonl")) ?? "").split("\n").filter(Boolean);
      const seen = new Set<number>();
      for (const l of lines) {
        try {
          seen.add((JSON.parse(l) as { i: number }).i);
        } catch {
          fail("atomic-append", store, "concurrent append() calls mixed their text: a line does not parse.");
        }
      }
      if (seen.size !== 32 || lines.length !== 32) fail("atomic-append", store, `32 concurrent append() calls left ${lines.length} lines (${seen.size} distinct) readable without flush(); each must land whole before it resolves.`);
    },
  },
  preflight: {
    title: "preflight() passes on a good store and rejects misconfigured ones with a clear OrchError",
    requires: (store) => (store.preflight ? undefined : "the store has no preflight()"),
    async check(store, options) {
      await store.preflight!();
      if ((await store.list("runs/")).length + (await store.list("artifacts/")).length !== 0) fail("preflight", store, "preflight() left objects under runs/ or artifacts/; delete the probe.");
      for (const [name, create] of Object.entries(options.misconfigured ?? {})) {
        // Refusing to open the store at all is as early as a preflight, and as good.
        let error: unknown;
        try {
          const broken = await create();
          await broken.preflight?.();
        } catch (caught) {
          error = caught;
        }
        if (error === undefined) fail("preflight", store, `opening the "${name}" store and its preflight() both succeeded; one of them must reject.`);
        const e = error as { name?: string; code?: unknown; hint?: unknown; message?: string };
        if (e.name !== "OrchError" || typeof e.code !== "string" || typeof e.hint !== "string" || !e.hint) {
          fail("preflight", store, `preflight() of the "${name}" store rejected with ${describeError(error)}; it must be an OrchError with a code and a hint saying how to fix it.`);
        }
        if (!e.message?.toLowerCase().includes(store.flavor.toLowerCase())) fail("preflight", store, `preflight() of the "${name}" store says "${e.message}", which does not name the flavor "${store.flavor}".`);
      }
    },
  },
  reopen: {
    title: "is reachable again from describe() (what other processes use)",
    async check(store, options) {
      const described = store.describe();
      if (described.flavor !== store.flavor) fail("reopen", store, `describe().flavor is "${described.flavor}", expected "${store.flavor}".`);
      try {
        JSON.stringify(described);
      } catch (error) {
        fail("reopen", store, `describe() must be JSON (it is passed to orch-entrypoint): ${describeError(error)}`);
      }
      for (const [key, value] of Object.entries(described.config)) {
        if (SECRET_NAME.test(key) && value !== undefined && value !== "") fail("reopen", store, `describe() holds the secret-looking key "${key}"; it travels in argv and env of child processes. Pass credentials through env() instead.`);
      }
      if (!options.reopen) return;
      await store.write("runs/o/run.json", "shared");
      const again = await options.reopen(described);
      if (text(await again.read("runs/o/run.json")) !== "shared") fail("reopen", store, "a store opened from describe() does not see what the first one wrote.");
    },
  },
};

/**
 * The conformance suite for artifact-store flavors: every check runs on a fresh store from `create`.
 *
 * @example
 * testArtifactStore({ create: async () => createLocalArtifactStore(await mkdtemp(join(tmpdir(), "s-"))) });
 */
export function testArtifactStore(options: ArtifactStoreConformanceOptions): void {
  describe("orch conformance: artifact store", () => {
    if (options.cleanup) afterAll(() => options.cleanup?.());
    for (const [name, { title, check, requires, timeout }] of Object.entries(artifactStoreChecks)) {
      const reason = options.skip?.[name];
      if (reason) {
        console.warn(`[orch testkit] artifact store: skipping "${name}" — ${reason}`);
        it.skip(`${title} (skipped: ${reason})`, () => {});
        continue;
      }
      it(
        title,
        async (context) => {
          const store = await options.create();
          const missing = requires?.(store);
          // An optional capability the store does not have: skipped loudly, not passed silently.
          if (missing) return context.skip(`${store.flavor}: ${missing}`);
          await check(store, options);
        },
        timeout,
      );
    }
  });
}
