/** The plugin entry loads no Azure SDK: `@azure/storage-blob` and `@azure/identity` load only inside create(). */
import { fileURLToPath } from "node:url";
import { findSdkLoads, probePluginEntry } from "@orch/testkit";
import { describe, expect, it } from "vitest";

describe("plugin entry", () => {
  it("imports neither Azure SDK at module top, and default-exports the azure artifact-store plugin", async () => {
    const result = await probePluginEntry({ entry: fileURLToPath(new URL("./index.ts", import.meta.url)) });
    expect(result.plugin).toEqual({ kind: "artifact-store", flavor: "azure" });
    expect(result.records.length).toBeGreaterThan(0);
    expect(findSdkLoads(result.records, "@azure/storage-blob")).toEqual([]);
    expect(findSdkLoads(result.records, "@azure/identity")).toEqual([]);
    expect(result.records.some((r) => r.url.endsWith("/src/store.ts"))).toBe(false);
  });
});
