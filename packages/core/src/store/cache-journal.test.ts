import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import type { ArtifactStore } from "./artifact-store.js";
import { journalKeys, readCacheEntry, writeCacheEntry, type CacheEntry } from "./journal.js";
import { createLocalArtifactStore } from "./local-store.js";

const key = (prefix: string, n: number) => `${prefix}${String(n).padStart(62, "0")}`;
const entry = (cacheKey: string, runId: string): CacheEntry => ({ cacheKey, runId, stepId: "s", outputs: {}, createdAt: "2026-11-30T00:00:00.000Z" });

describe("the cache journal of the local store (64 files, cache/00.jsonl … cache/3f.jsonl)", () => {
  it("spreads keys over 64 files by their first byte", () => {
    expect(journalKeys.cacheJournal(key("00", 1))).toBe("cache/00.jsonl");
    expect(journalKeys.cacheJournal(key("3f", 1))).toBe("cache/3f.jsonl");
    expect(journalKeys.cacheJournal(key("40", 1))).toBe("cache/00.jsonl");
    expect(journalKeys.cacheJournal(key("ff", 1))).toBe("cache/3f.jsonl");
    expect(journalKeys.cacheJournal(key("ab", 1))).toBe("cache/2b.jsonl");
  });

  it("appends entries to the file of the key and finds the newest one of a key, creating no file per entry", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeCacheEntry(store, entry(key("ab", 1), "run-1"));
    await writeCacheEntry(store, entry(key("ab", 2), "run-1"));
    await writeCacheEntry(store, entry(key("cd", 1), "run-1"));
    await writeCacheEntry(store, entry(key("ab", 1), "run-2")); // the step ran again (its artifact was damaged)
    expect(readFileSync(join(dir, journalKeys.cacheJournal(key("ab", 1))), "utf8").trimEnd().split("\n")).toHaveLength(3);
    expect(existsSync(join(dir, "cache", `${key("ab", 1)}.json`))).toBe(false);
    expect((await readCacheEntry(store, key("ab", 1)))?.runId).toBe("run-2");
    expect((await readCacheEntry(store, key("ab", 2)))?.runId).toBe("run-1");
    expect((await readCacheEntry(store, key("cd", 1)))?.runId).toBe("run-1");
    expect(await readCacheEntry(store, key("ab", 3))).toBeUndefined();
    expect(await readCacheEntry(store, key("ef", 1))).toBeUndefined();
  });

  it("finds an entry another process appended after this one read the file, and keeps finding its own", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeCacheEntry(store, entry(key("ab", 1), "mine-1"));
    expect(await readCacheEntry(store, key("ab", 2))).toBeUndefined();
    appendFileSync(join(dir, journalKeys.cacheJournal(key("ab", 2))), `${JSON.stringify(entry(key("ab", 2), "theirs"))}\n`);
    expect((await readCacheEntry(store, key("ab", 2)))?.runId).toBe("theirs");
    await writeCacheEntry(store, entry(key("ab", 3), "mine-2"));
    expect((await readCacheEntry(store, key("ab", 3)))?.runId).toBe("mine-2");
    expect((await readCacheEntry(store, key("ab", 1)))?.runId).toBe("mine-1");
    // A second store on the same folder (another process) sees everything.
    const other = createLocalArtifactStore(dir);
    expect((await Promise.all([1, 2, 3].map((n) => readCacheEntry(other, key("ab", n))))).map((e) => e?.runId)).toEqual(["mine-1", "theirs", "mine-2"]);
  });

  it("never takes a key that only starts like another for it", async () => {
    const store = createLocalArtifactStore(tempDir());
    await writeCacheEntry(store, entry(`${key("ab", 1)}0`, "longer"));
    expect(await readCacheEntry(store, key("ab", 1))).toBeUndefined();
  });

  it("skips an entry cut short by a crash and finds the one appended right after it, or the one before", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await writeCacheEntry(store, entry(key("ab", 1), "run-1"));
    const whole = JSON.stringify(entry(key("ab", 1), "run-2"));
    appendFileSync(join(dir, journalKeys.cacheJournal(key("ab", 1))), whole.slice(0, whole.length - 10)); // a power cut mid-append
    expect((await readCacheEntry(store, key("ab", 1)))?.runId).toBe("run-1");
    await writeCacheEntry(store, entry(key("ab", 2), "run-3"));
    expect((await readCacheEntry(store, key("ab", 2)))?.runId).toBe("run-3");
    expect((await readCacheEntry(store, key("ab", 1)))?.runId).toBe("run-1");
  });

  it("does not read an entry that is still being appended", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    mkdirSync(join(dir, "cache"), { recursive: true });
    appendFileSync(join(dir, journalKeys.cacheJournal(key("ab", 1))), JSON.stringify(entry(key("ab", 1), "run-1")));
    expect(await readCacheEntry(store, key("ab", 1))).toBeUndefined();
    appendFileSync(join(dir, journalKeys.cacheJournal(key("ab", 1))), "\n");
    expect((await readCacheEntry(store, key("ab", 1)))?.runId).toBe("run-1");
  });

  it("refuses an entry that parses but is not a cache entry with E_JOURNAL_INVALID (the step runner takes it as a miss)", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    mkdirSync(join(dir, "cache"), { recursive: true });
    appendFileSync(join(dir, journalKeys.cacheJournal(key("ab", 1))), `${JSON.stringify({ cacheKey: key("ab", 1), runId: 7 })}\n`);
    await expect(readCacheEntry(store, key("ab", 1))).rejects.toMatchObject({ code: "E_JOURNAL_INVALID", message: expect.stringContaining("cache/2b.jsonl") });
  });

  it("still finds entries written before the journal (one file per entry)", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "cache"), { recursive: true });
    writeFileSync(join(dir, "cache", `${key("ab", 1)}.json`), JSON.stringify(entry(key("ab", 1), "old-run")));
    expect((await readCacheEntry(createLocalArtifactStore(dir), key("ab", 1)))?.runId).toBe("old-run");
  });

  it("stays one object per entry on a store without atomic appends (object stores)", async () => {
    const local = createLocalArtifactStore(tempDir());
    const objectStore: ArtifactStore = { ...local, atomicAppend: false };
    await writeCacheEntry(objectStore, entry(key("ab", 1), "run-1"));
    expect(await objectStore.exists(journalKeys.cache(key("ab", 1)))).toBe(true);
    expect(await objectStore.exists(journalKeys.cacheJournal(key("ab", 1)))).toBe(false);
    expect((await readCacheEntry(objectStore, key("ab", 1)))?.runId).toBe("run-1");
  });
});
