import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalArtifactStore, type ArtifactStore } from "@orch/core/plugin";
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
    misconfigured: {
      // A path below a regular file can never become a folder.
      "path under a file": async () => {
        const file = join(await freshDir(), "a-file");
        await writeFile(file, "");
        return createLocalArtifactStore(join(file, "store"));
      },
    },
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

describe("broken artifact stores are caught (extended checks)", () => {
  it("a store whose list() stops after the first page of 1,000 keys", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const onePage: ArtifactStore = { ...inner, list: async (prefix) => (await inner.list(prefix)).slice(0, 1000) };
    await expect(artifactStoreChecks["list-pages"]!.check(onePage, { create: () => onePage })).rejects.toThrow(/returned 1000 keys .* for 1005 written/);
  });

  it("a store that declares atomicAppend but buffers its appends (an object store's append)", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const buffered = new Map<string, string>();
    const buffering: ArtifactStore = {
      ...inner,
      atomicAppend: true,
      append: async (key, text) => void buffered.set(key, (buffered.get(key) ?? "") + text),
      flush: async () => {
        for (const [key, text] of buffered) await inner.append!(key, text);
        buffered.clear();
      },
    };
    await expect(artifactStoreChecks["atomic-append"]!.check(buffering, { create: () => buffering })).rejects.toThrow(/32 concurrent append\(\) calls left 0 lines/);
  });

  it("a store whose writeIfAbsent() overwrites (a server that ignores If-None-Match)", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const ignoring: ArtifactStore = { ...inner, writeIfAbsent: async (key, data) => (await inner.write(key, data), true) };
    await expect(artifactStoreChecks["write-if-absent"]!.check(ignoring, { create: () => ignoring })).rejects.toThrow(/6 of 6 racing writeIfAbsent\(\) calls reported a win/);
  });

  it("a store whose writeStream() buffers the whole object in memory", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const buffering: ArtifactStore = {
      ...inner,
      writeStream: async (key, source) => {
        const chunks: Buffer[] = [];
        for await (const chunk of source) chunks.push(Buffer.from(chunk));
        await inner.write(key, Buffer.concat(chunks));
      },
    };
    const options = { create: () => buffering, largeObjectBytes: 96 * 1024 * 1024, maxRssGrowthBytes: 48 * 1024 * 1024 };
    await expect(artifactStoreChecks["stream-large"]!.check(buffering, options)).rejects.toThrow(/writeStream\(\) of 96 MiB grew RSS by \d+ MiB \(budget 48 MiB\)/);
  });

  it("a store whose preflight() rejects with a bare Error", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const bare = { ...inner, preflight: async () => { throw new Error("NoSuchBucket"); } };
    await expect(artifactStoreChecks.preflight!.check(inner, { create: () => inner, misconfigured: { "missing bucket": () => bare } })).rejects.toThrow(/rejected with NoSuchBucket; it must be an OrchError/);
  });

  it("a store that puts a secret into describe()", async () => {
    const inner = createLocalArtifactStore(await freshDir());
    const leaky: ArtifactStore = { ...inner, describe: () => ({ flavor: "local", config: { path: inner.uri, secretAccessKey: "abc" } }) };
    await expect(artifactStoreChecks.reopen!.check(leaky, { create: () => leaky })).rejects.toThrow(/secret-looking key "secretAccessKey"/);
  });
});
