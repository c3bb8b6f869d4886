/** Config validation: what `orch artifact-store register --flavor=azure …` accepts and how it refuses. */
import { OrchError } from "@orch/core";
import { parseComponentConfig } from "@orch/core/plugin";
import { describe, expect, it } from "vitest";
import plugin, { azure, configSchema } from "./index.js";
import { parseAzurePath } from "./path.js";

const parse = (config: Record<string, unknown>) => parseComponentConfig(plugin, config);
const refusal = (config: Record<string, unknown>) => {
  try {
    parse(config);
  } catch (error) {
    expect(error).toBeInstanceOf(OrchError);
    expect((error as OrchError).code).toBe("E_CONFIG_INVALID");
    return (error as OrchError).message;
  }
  throw new Error(`config was accepted: ${JSON.stringify(config)}`);
};

describe("azure store config", () => {
  it("accepts az:// and abfs:// paths and splits container, prefix and account", () => {
    expect(parseAzurePath("az://ml-artifacts/orch/team")).toEqual({ container: "ml-artifacts", prefix: "orch/team/", uri: "az://ml-artifacts/orch/team" });
    expect(parseAzurePath("az://ml-artifacts")).toEqual({ container: "ml-artifacts", prefix: "", uri: "az://ml-artifacts" });
    expect(parseAzurePath("az://ml-artifacts//a///b/")).toMatchObject({ prefix: "a/b/", uri: "az://ml-artifacts/a/b" });
    expect(parseAzurePath("abfs://data@mlstore.dfs.core.windows.net/orch")).toEqual({
      container: "data",
      prefix: "orch/",
      account: "mlstore",
      uri: "abfs://data@mlstore.dfs.core.windows.net/orch",
    });
    expect(parseAzurePath("abfss://data@mlstore.dfs.core.windows.net")).toMatchObject({ container: "data", account: "mlstore", prefix: "" });
    expect(parse({ path: "az://ml-artifacts/orch", account: "mlstore" })).toEqual({ path: "az://ml-artifacts/orch", account: "mlstore" });
  });

  it.each([
    ["az://ab/x", "3 to 63 characters"],
    [`az://${"a".repeat(64)}`, "3 to 63 characters"],
    ["az://My-Container", "lower-case"],
    ["az://a--b", 'must not contain "--"'],
    ["az://-abc", "start and end with a letter or digit"],
    ["az://abc-", "start and end with a letter or digit"],
    ["az://ab_c", 'only lower-case letters, digits and "-"'],
    ["az://ab.c", 'only lower-case letters, digits and "-"'],
    ["az://", "names no container"],
  ])("refuses the container in %s with the rule it breaks", (path, rule) => {
    const message = refusal({ path });
    expect(message).toContain("[azure] path:");
    expect(message).toContain(rule);
  });

  it.each([
    ["s3://bucket/x", "not an Azure Blob path"],
    ["az:/container", "not an Azure Blob path"],
    ["", "not an Azure Blob path"],
    ["abfs://data/orch", "container@account.dfs.core.windows.net"],
    ["abfs://data@Bad_Account.dfs.core.windows.net/x", "storage account name"],
    ["az://data/../x", 'prefix segment ".."'],
    ["az://data/a./b", 'prefix segment "a."'],
    ["az://data/ré", 'prefix segment "ré"'],
    ["az://data/a b", 'prefix segment "a b"'],
  ])("refuses the path %s", (path, why) => {
    expect(refusal({ path })).toContain(why);
  });

  it("refuses two credentials, an endpoint next to a connection string, a mismatched account, and unknown keys", () => {
    expect(refusal({ path: "az://data", connectionString: "x", accountKey: "y" })).toContain("give one credential, not connectionString and accountKey");
    expect(refusal({ path: "az://data", accountKey: "x", sasToken: "y" })).toContain("give one credential");
    expect(refusal({ path: "az://data", connectionString: "x", endpoint: "http://127.0.0.1:1/devstoreaccount1" })).toContain("[azure] endpoint:");
    expect(refusal({ path: "abfs://data@one.dfs.core.windows.net", account: "two" })).toContain('differs from the account "one"');
    expect(refusal({ path: "az://data", account: "Not_Valid" })).toContain("[azure] account:");
    expect(refusal({ path: "az://data", endpoint: "ftp://x" })).toContain("[azure] endpoint:");
    expect(refusal({ path: "az://data", region: "westeurope" })).toContain("region");
    expect(refusal({ path: "az://data", connectionString: "" })).toContain("[azure] connectionString:");
  });

  it("marks the credential fields secret, and describes every field", () => {
    const shape = configSchema.shape;
    for (const key of ["connectionString", "accountKey", "sasToken"] as const) {
      expect((shape[key].meta() as { secret?: boolean }).secret).toBe(true);
    }
    for (const key of ["path", "account", "endpoint"] as const) expect(shape[key].meta()?.secret).toBeUndefined();
    for (const [key, field] of Object.entries(shape)) expect(field.description, key).toBeTruthy();
  });

  it("gives a typed component for stacks in code", () => {
    const component = azure({ path: "az://data/orch", account: "mlstore" });
    expect(component).toMatchObject({ flavor: "azure", config: { path: "az://data/orch", account: "mlstore" } });
    expect(component.plugin).toBe(plugin);
    expect(plugin).toMatchObject({ kind: "artifact-store", flavor: "azure", remote: true });
  });
});
