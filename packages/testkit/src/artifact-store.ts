import { afterAll, describe, it } from "vitest";
import { isDeepStrictEqual } from "node:util";
import type { ArtifactStore } from "@orch/core";
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
}

type StoreCheck = (store: ArtifactStore, options: ArtifactStoreConformanceOptions) => Promise<void>;

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"));

function fail(check: string, store: ArtifactStore, message: string): never {
  throw new ConformanceError(check, store.flavor, message);
}

/** Checks every artifact-store flavor must pass, by name. Each is a plain async function. */
export const artifactStoreChecks: Record<string, { title: string; check: StoreCheck }> = {
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
  append: {
    title: "appends log lines when it supports append",
    async check(store) {
      if (!store.append) return;
      await store.append("runs/l/logs/s.log", "one\n");
      await store.append("runs/l/logs/s.log", "two\n");
      if (text(await store.read("runs/l/logs/s.log")) !== "one\ntwo\n") fail("append", store, "append() must add text at the end of the key, creating it first.");
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
    for (const [, { title, check }] of Object.entries(artifactStoreChecks)) {
      it(title, async () => check(await options.create(), options));
    }
  });
}
