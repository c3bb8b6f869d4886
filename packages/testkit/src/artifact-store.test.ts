import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalArtifactStore, type ArtifactStore } from "@orch/core";
import { artifactStoreChecks, testArtifactStore } from "./artifact-store.js";

const dirs: string[] = [];
const freshDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "orch-testkit-store-"));
  dirs.push(dir);
  return dir;
};

describe("store: local (built-in)", () => {
  testArtifactStore({
    create: async () => createLocalArtifactStore(await freshDir()),
    reopen: (described) => createLocalArtifactStore(String(described.config.path)),
  });
});

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("broken artifact stores are caught", () => {
  it("a store whose list() is not recursive", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const shallow: ArtifactStore = { ...inner, list: async (prefix) => (await inner.list(prefix)).filter((key) => !key.slice(prefix.length).includes("/")) };
    await expect(artifactStoreChecks.list!.check(shallow, { create: () => shallow })).rejects.toThrow(/list\("runs\/a\/"\) returned .*recursively/);
  });

  it("a store that throws for a missing key", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const strict: ArtifactStore = {
      ...inner,
      read: async (key) => {
        const value = await inner.read(key);
        if (value === undefined) throw new Error("NoSuchKey");
        return value;
      },
    };
    await expect(artifactStoreChecks["read-write"]!.check(strict, { create: () => strict })).rejects.toThrow(/NoSuchKey/);
  });
});
