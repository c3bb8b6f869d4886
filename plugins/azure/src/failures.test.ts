/**
 * What a user sees when the store cannot be used: each failure is one OrchError that names the flavor, the
 * path and the fix — from preflight() at stack activation, and from the data calls themselves.
 */
import { createServer } from "node:net";
import { ContainerSASPermissions } from "@azure/storage-blob";
import { OrchError } from "@orch/core";
import { describe, expect, it } from "vitest";
import { DEV_ACCOUNT, useAzurite } from "../test/azurite.js";
import { createAzureStore } from "./store.js";

const azurite = useAzurite();

const ctx = { projectRoot: "." };

/** A port on 127.0.0.1 that nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function orchError(promise: Promise<unknown>): Promise<OrchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected an OrchError").toBeInstanceOf(OrchError);
  return error as OrchError;
}

describe("azure store failures", () => {
  it("a missing container: preflight, reads and writes all say which container to create", async () => {
    const store = await createAzureStore({ path: "az://no-such-container/orch", connectionString: azurite.connectionString }, ctx);
    const preflight = await orchError(store.preflight());
    expect(preflight.code).toBe("E_BACKEND_UNAVAILABLE");
    expect(preflight.message).toContain('[azure] Container "no-such-container" does not exist in the azure artifact store az://no-such-container/orch');
    expect(preflight.message).toContain(azurite.endpoint);
    expect(preflight.hint).toContain("az storage container create --name no-such-container");
    // A missing container is not a missing key: read() must not pretend the run has no record.
    expect((await orchError(store.read("runs/r/run.json"))).message).toContain("does not exist");
    expect((await orchError(store.write("runs/r/run.json", "{}"))).message).toContain("writing runs/r/run.json");
    expect((await orchError(store.list("runs/"))).message).toContain("does not exist");
    expect((await orchError(store.exists("runs/r/run.json"))).message).toContain("does not exist");
    expect((await orchError(store.append("runs/r/logs/s.log", "x\n"))).message).toContain("does not exist");
    expect((await orchError(store.writeIfAbsent("runs/r/steps/s.json", "{}"))).message).toContain("does not exist");
  });

  it("connection refused: preflight names the endpoint and says to check it", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}/${DEV_ACCOUNT}`;
    const store = await createAzureStore({ path: "az://data/orch", accountKey: azurite.connectionString.match(/AccountKey=([^;]+)/)![1]!, account: DEV_ACCOUNT, endpoint }, ctx);
    const error = await orchError(store.preflight());
    expect(error.code).toBe("E_BACKEND_UNAVAILABLE");
    expect(error.message).toContain(`[azure] Cannot reach the azure artifact store az://data/orch (${endpoint})`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.hint).toContain("--endpoint");
    expect(error.key).toBe("endpoint");
  });

  it("a wrong account key: access denied, naming the credential used", async () => {
    const container = await azurite.container("fail");
    const wrongKey = Buffer.alloc(64, 7).toString("base64");
    const store = await createAzureStore({ path: `az://${container}/orch`, account: DEV_ACCOUNT, accountKey: wrongKey, endpoint: azurite.endpoint }, ctx);
    const error = await orchError(store.preflight());
    expect(error.message).toContain(`[azure] Access denied to the azure artifact store az://${container}/orch`);
    expect(error.message).toContain(`the account key of "${DEV_ACCOUNT}" (config)`);
    expect(error.message).not.toContain(wrongKey);
    expect(error.hint).toContain("Storage Blob Data Contributor");
  });

  it("a read-only SAS token: preflight fails at the probe write", async () => {
    const container = await azurite.container("fail");
    const sas = (await azurite.service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse("rl"), expiresOn: new Date(Date.now() + 3600_000) })).split("?")[1]!;
    const store = await createAzureStore({ path: `az://${container}/orch`, sasToken: sas, endpoint: azurite.endpoint }, ctx);
    const error = await orchError(store.preflight());
    expect(error.message).toContain("Access denied");
    expect(error.message).toContain("writing a probe blob (preflight)");
    expect(error.message).toContain("a SAS token (config)");
    expect(error.message).not.toContain(sas);
  });

  /** Only the environment credential in DefaultAzureCredential's chain, so nothing probes a metadata endpoint or spawns `az`. */
  async function withoutAzureLogin(fn: () => Promise<void>) {
    const saved = { ...process.env };
    process.env.AZURE_TOKEN_CREDENTIALS = "EnvironmentCredential";
    for (const key of ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE"]) delete process.env[key];
    try {
      await fn();
    } finally {
      process.env = saved;
    }
  }

  it("a SAS token without delete (or list) permission: preflight names the operation it lacks", async () => {
    const container = await azurite.container("fail");
    const sasWith = async (permissions: string) =>
      (await azurite.service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) })).split("?")[1]!;
    const noDelete = await createAzureStore({ path: `az://${container}/orch`, sasToken: await sasWith("racwl"), endpoint: azurite.endpoint }, ctx);
    expect((await orchError(noDelete.preflight())).message).toContain("deleting the probe blob (preflight)");
    const noList = await createAzureStore({ path: `az://${container}/orch`, sasToken: await sasWith("racwd"), endpoint: azurite.endpoint }, ctx);
    expect((await orchError(noList.preflight())).message).toContain("listing the container (preflight)");
  });

  it("no credentials at all: DefaultAzureCredential finds none, and the hint lists every way to give one", () =>
    withoutAzureLogin(async () => {
      const endpoint = `https://127.0.0.1:${await closedPort()}/${DEV_ACCOUNT}`;
      const store = await createAzureStore({ path: "az://data/orch", endpoint }, ctx, { env: {} });
      const error = await orchError(store.preflight());
      expect(error.message).toContain("[azure] No usable credentials for the azure artifact store az://data/orch");
      expect(error.hint).toContain("--connection_string");
      expect(error.hint).toContain("AZURE_STORAGE_CONNECTION_STRING");
      expect(error.hint).toContain("az login");
    }));

  it("DefaultAzureCredential over plain http (e.g. Azurite without a key) is refused with the same hint", () =>
    withoutAzureLogin(async () => {
      const store = await createAzureStore({ path: "az://data/orch", endpoint: azurite.endpoint }, ctx, { env: {} });
      const error = await orchError(store.preflight());
      expect(error.message).toContain("No usable credentials");
      expect(error.hint).toContain("needs an https endpoint");
    }));

  it("a store without an account, and a malformed connection string, are config errors", async () => {
    const noAccount = await orchError(createAzureStore({ path: "az://data/orch" }, ctx, { env: {} }));
    expect(noAccount.code).toBe("E_CONFIG_INVALID");
    expect(noAccount.message).toContain("names no storage account");
    expect(noAccount.hint).toContain("--account");
    const badString = await orchError(createAzureStore({ path: "az://data/orch", connectionString: "not a connection string" }, ctx));
    expect(badString.code).toBe("E_CONFIG_INVALID");
    expect(badString.key).toBe("connectionString");
    expect(badString.message).not.toContain("not a connection string");
  });

  it("falls back to the AZURE_STORAGE_* environment when the config has no credential", async () => {
    const container = await azurite.container("env");
    const store = await createAzureStore({ path: `az://${container}/orch` }, ctx, { env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString } });
    await store.preflight();
    const byKey = await createAzureStore({ path: `az://${container}/orch`, endpoint: azurite.endpoint }, ctx, {
      env: { AZURE_STORAGE_ACCOUNT: DEV_ACCOUNT, AZURE_STORAGE_KEY: azurite.connectionString.match(/AccountKey=([^;]+)/)![1]! },
    });
    await byKey.write("runs/e/run.json", "env");
    expect(Buffer.from((await store.read("runs/e/run.json"))!).toString()).toBe("env");
  });
});
