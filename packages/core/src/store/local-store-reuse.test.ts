// The local store keeps small files it read or wrote (RecentReads) and files it appends to open
// (AppendFiles). Neither may ever hand out something other than what is on disk now.
import { appendFileSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import { createLocalArtifactStore } from "./local-store.js";

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"));

describe("the local store reads what is on disk now", () => {
  it("after another writer replaced a file it read, even with a value of the same size", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await store.write("artifacts/a", "first", { atomic: false });
    expect(text(await store.read("artifacts/a"))).toBe("first");
    writeFileSync(join(dir, "artifacts", "a"), "other"); // in place, same size
    expect(text(await store.read("artifacts/a"))).toBe("other");
    rmSync(join(dir, "artifacts", "a"));
    expect(await store.read("artifacts/a")).toBeUndefined();
  });

  it("hands out a copy: changing the bytes it returned changes nothing it returns later", async () => {
    const store = createLocalArtifactStore(tempDir());
    await store.write("artifacts/b", "bytes", { atomic: false });
    const first = (await store.read("artifacts/b"))!;
    first.fill(0);
    expect(text(await store.read("artifacts/b"))).toBe("bytes");
  });

  it("sees what another process appended to a file it also appends to", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await store.append!("cache/00.jsonl", "one\n");
    expect(text(await store.read("cache/00.jsonl"))).toBe("one\n");
    appendFileSync(join(dir, "cache", "00.jsonl"), "theirs\n");
    await store.append!("cache/00.jsonl", "two\n");
    expect(text(await store.read("cache/00.jsonl"))).toBe("one\ntheirs\ntwo\n");
    expect(readFileSync(join(dir, "cache", "00.jsonl"), "utf8")).toBe("one\ntheirs\ntwo\n");
  });

  it("appends to the file that is there now when someone deleted or replaced the one it had open", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const file = join(dir, "runs", "r", "steps.jsonl");
    await store.append!("runs/r/steps.jsonl", "a\n");
    rmSync(file);
    await store.append!("runs/r/steps.jsonl", "b\n");
    expect(readFileSync(file, "utf8")).toBe("b\n");
    // Replaced by another file (temp + rename, as an atomic write does).
    writeFileSync(`${file}.next`, "renamed\n");
    renameSync(`${file}.next`, file);
    await store.append!("runs/r/steps.jsonl", "c\n");
    expect(readFileSync(file, "utf8")).toBe("renamed\nc\n");
  });

  it("starts a deleted run's journal afresh (store.delete closes what it had open there)", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    await store.append!("runs/r/steps.jsonl", "old\n");
    expect(text(await store.read("runs/r/steps.jsonl"))).toBe("old\n");
    await store.delete("runs/r/");
    expect(await store.read("runs/r/steps.jsonl")).toBeUndefined();
    await store.append!("runs/r/steps.jsonl", "new\n");
    expect(text(await store.read("runs/r/steps.jsonl"))).toBe("new\n");
  });

  it("keeps appending correctly to more files than it keeps open", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    for (let round = 0; round < 2; round++) for (let i = 0; i < 200; i++) await store.append!(`logs/f${i}.log`, `${round}\n`);
    for (const i of [0, 99, 199]) expect(readFileSync(join(dir, "logs", `f${i}.log`), "utf8")).toBe("0\n1\n");
  });
});
