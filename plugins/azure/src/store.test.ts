/**
 * The azure store's own behaviour on Azurite, beyond the testkit suite: listing past one page, every key
 * character, concurrent writers, conditional create, append blobs, prefix deletes, credentials kept out of
 * describe(). What the store wrote is checked with the plain SDK.
 */
import { ContainerSASPermissions } from "@azure/storage-blob";
import { OrchError } from "@orch/core";
import { describe, expect, it } from "vitest";
import { blobNames, blobText, DEV_ACCOUNT, DEV_KEY, useAzurite } from "../test/azurite.js";
import { createAzureStore, type AzureStoreOptions } from "./store.js";

const azurite = useAzurite();

const ctx = { projectRoot: "." };
async function fresh(prefix = "orch", options: AzureStoreOptions = {}) {
  const container = await azurite.container("store");
  const store = await createAzureStore({ path: `az://${container}${prefix ? `/${prefix}` : ""}`, connectionString: azurite.connectionString }, ctx, options);
  return { store, container, base: prefix ? `${prefix}/` : "" };
}
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"));

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe("azure store", () => {
  it("lists every key past one page (1,234 keys, pages of 250 and the service default)", async () => {
    const { store, container, base } = await fresh("orch", { listPageSize: 250 });
    const keys = Array.from({ length: 1234 }, (_, i) => `runs/big/steps/s${String(i).padStart(4, "0")}.json`);
    await inBatches(keys, 64, (key) => store.write(key, "{}"));
    await store.write("runs/big2/run.json", "{}"); // a sibling sharing the prefix string, not the folder
    const listed = await store.list("runs/big/");
    expect(listed).toHaveLength(1234);
    expect(new Set(listed)).toEqual(new Set(keys));
    const again = await createAzureStore({ path: `az://${container}/orch`, connectionString: azurite.connectionString }, ctx);
    expect((await again.list("runs/big")).length).toBe(1234); // no trailing slash: still the folder
    expect((await blobNames(azurite.service, container, `${base}runs/big/`)).length).toBe(1234);
  });

  it("stores keys with every allowed character under their exact names", async () => {
    const { store, container, base } = await fresh("team-a/orch.v2");
    const keys = [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ/abcdefghijklmnopqrstuvwxyz/0123456789",
      "runs/20260101T000000-x_Y-z/steps/step_2-b.json",
      "-lead/_under/.hidden",
      "a..b/c...d/e.f.g",
      "...x/..y/_-.0",
      "artifacts/0/data",
    ];
    for (const [i, key] of keys.entries()) await store.write(key, `v${i}`);
    for (const [i, key] of keys.entries()) {
      expect(text(await store.read(key)), key).toBe(`v${i}`);
      expect(await store.exists(key), key).toBe(true);
      expect(await blobText(azurite.service, container, `${base}${key}`), key).toBe(`v${i}`);
    }
    expect((await store.list("")).sort()).toEqual([...keys].sort());
    expect(await store.list("a..b/")).toEqual(["a..b/c...d/e.f.g"]);
  });

  it.each([
    ["../outside", '".." segments'],
    ["runs/./x", '"." and ".." segments'],
    ["/abs/path", "posix paths"],
    ["", "posix paths"],
    ["a//b", "posix paths"],
    ["runs/é.json", "posix paths"],
    ["runs/a b.json", "posix paths"],
    ["runs/a?b", "posix paths"],
    ["runs\\x", "posix paths"],
    ["runs/x.", 'ending in "."'],
    ["runs./x", 'ending in "."'],
    ["runs/", 'names a folder'],
  ])("refuses the key %j with a clear error", async (key, why) => {
    const { store, container } = await fresh();
    const error = await store.write(key, "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrchError);
    expect((error as OrchError).message).toContain(`for the azure store az://${container}/orch`);
    expect((error as OrchError).message).toContain(why);
    expect(await blobNames(azurite.service, container)).toEqual([]);
  });

  it("keeps one whole value when many writers write one key at once", async () => {
    const { store, container, base } = await fresh();
    const size = 3 * 1024 * 1024;
    const values = Array.from({ length: 12 }, (_, i) => Buffer.alloc(size, 65 + i));
    await Promise.all(values.map((value) => store.write("runs/c/run.json", value)));
    const back = Buffer.from((await store.read("runs/c/run.json"))!);
    expect(back.length).toBe(size);
    expect(values.some((value) => value.equals(back))).toBe(true);
    const viaSdk = await azurite.service.getContainerClient(container).getBlobClient(`${base}runs/c/run.json`).downloadToBuffer();
    expect(viaSdk.equals(back)).toBe(true);
  });

  it("writeIfAbsent lets exactly one of many concurrent creators win and keeps its value", async () => {
    const { store } = await fresh();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.writeIfAbsent("runs/w/steps/train.json", `writer ${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(text(await store.read("runs/w/steps/train.json"))).toBe(`writer ${winner}`);
    expect(await store.writeIfAbsent("runs/w/steps/train.json", "late")).toBe(false);
    expect(text(await store.read("runs/w/steps/train.json"))).toBe(`writer ${winner}`);
    expect(await store.writeIfAbsent("runs/w/steps/other.json", "")).toBe(true);
  });

  it("appends to an append blob that readers see grow, chunks large text, and takes over a whole-written key", async () => {
    const { store, container, base } = await fresh();
    await store.append("runs/l/logs/s.log", "one\n");
    expect(await blobText(azurite.service, container, `${base}runs/l/logs/s.log`)).toBe("one\n");
    await store.append("runs/l/logs/s.log", "two\n");
    expect(await blobText(azurite.service, container, `${base}runs/l/logs/s.log`)).toBe("one\ntwo\n");
    const props = await azurite.service.getContainerClient(container).getBlobClient(`${base}runs/l/logs/s.log`).getProperties();
    expect(props.blobType).toBe("AppendBlob");
    expect(props.contentType).toBe("text/plain; charset=utf-8");

    const big = "x".repeat(9 * 1024 * 1024) + "é\n"; // more than two 4 MiB append blocks, ending in a multi-byte char
    await store.append("runs/l/logs/big.log", big);
    expect(text(await store.read("runs/l/logs/big.log"))).toBe(big);

    await store.write("runs/l/logs/whole.log", "written whole\n");
    await store.append("runs/l/logs/whole.log", "then appended\n");
    expect(text(await store.read("runs/l/logs/whole.log"))).toBe("written whole\nthen appended\n");
  });

  it("deletes a prefix of more than one batch (600 keys) and nothing beside it", async () => {
    const { store, container, base } = await fresh();
    const keys = Array.from({ length: 600 }, (_, i) => `artifacts/a${i}/data`);
    await inBatches(keys, 64, (key) => store.write(key, "x"));
    await store.write("artifactsX/keep", "x");
    await store.write("runs/r/run.json", "x");
    await store.delete("artifacts/");
    expect(await store.list("artifacts/")).toEqual([]);
    expect((await blobNames(azurite.service, container)).sort()).toEqual([`${base}artifactsX/keep`, `${base}runs/r/run.json`]);
  });

  it("keeps credentials out of describe() and hands them to child processes through env()", async () => {
    const { store, container } = await fresh();
    const described = JSON.stringify(store.describe());
    expect(described).not.toContain(DEV_KEY);
    expect(described).not.toContain("AccountKey");
    expect(store.describe()).toEqual({ flavor: "azure", config: { path: `az://${container}/orch` } });
    expect(store.env()).toEqual({ AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString });
    // A store opened from describe() + that environment sees the same data.
    await store.write("runs/o/run.json", "shared");
    const child = await createAzureStore(store.describe().config as { path: string }, ctx, { env: store.env() });
    expect(text(await child.read("runs/o/run.json"))).toBe("shared");
  });

  it("works with an account key and an abfs:// path, and with a container SAS token", async () => {
    const container = await azurite.container("auth");
    const keyed = await createAzureStore(
      { path: `abfs://${container}@${DEV_ACCOUNT}.dfs.core.windows.net/orch`, accountKey: DEV_KEY, endpoint: azurite.endpoint },
      ctx,
    );
    await keyed.preflight();
    await keyed.write("runs/k/run.json", "by key");
    expect(keyed.describe().config).toEqual({ path: `abfs://${container}@${DEV_ACCOUNT}.dfs.core.windows.net/orch`, endpoint: azurite.endpoint });
    expect(keyed.env()).toEqual({ AZURE_STORAGE_ACCOUNT: DEV_ACCOUNT, AZURE_STORAGE_KEY: DEV_KEY });

    const sasUrl = await azurite.service.getContainerClient(container).generateSasUrl({
      permissions: ContainerSASPermissions.parse("racwdl"),
      expiresOn: new Date(Date.now() + 3600_000),
    });
    const sasToken = sasUrl.split("?")[1]!;
    const bySas = await createAzureStore({ path: `az://${container}/orch`, sasToken, endpoint: azurite.endpoint }, ctx);
    await bySas.preflight();
    expect(text(await bySas.read("runs/k/run.json"))).toBe("by key");
    await bySas.append("runs/k/logs/s.log", "line\n");
    await bySas.delete("runs/k/");
    expect(await bySas.list("runs/")).toEqual([]);
  });
});

describe("azure store, values above the single-put size", () => {
  it("writes them as blocks + one commit; racing writers of one key end with one whole value or a clear error", async () => {
    const container = await azurite.container("blocks");
    const store = await createAzureStore({ path: `az://${container}/orch`, connectionString: azurite.connectionString }, ctx, { singleShotBytes: 1024 * 1024, writeBlockSize: 256 * 1024 });
    const size = 3 * 1024 * 1024 + 17;
    await store.write("artifacts/one/data", Buffer.alloc(size, 1));
    const blocks = await azurite.service.getContainerClient(container).getBlockBlobClient("orch/artifacts/one/data").getBlockList("committed");
    expect(blocks.committedBlocks!.length).toBe(Math.ceil(size / (256 * 1024)));
    expect(Buffer.from((await store.read("artifacts/one/data"))!).equals(Buffer.alloc(size, 1))).toBe(true);

    const values = Array.from({ length: 4 }, (_, i) => Buffer.alloc(size, 97 + i));
    const outcomes = await Promise.allSettled(values.map((value) => store.write("artifacts/big/data", value)));
    const won = values.filter((_, i) => outcomes[i]!.status === "fulfilled");
    expect(won.length).toBeGreaterThan(0); // the first commit of a race always lands
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") expect((outcome.reason as Error).message).toContain("Another writer committed artifacts/big/data");
    }
    const back = Buffer.from((await store.read("artifacts/big/data"))!);
    expect(won.some((value) => value.equals(back))).toBe(true);
  });
});
