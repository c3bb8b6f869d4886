import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPackage, checkSdkLazy } from "./checks.js";
import { createConformanceContext } from "./context.js";
import { referencePlugin } from "./test-plugins.js";
import { testdir, type TestDir } from "./testdir.js";

// A fake cloud SDK (ESM and CommonJS flavours) and plugin entries that load it well or badly.
const fakeSdk = {
  "node_modules/fake-cloud-sdk/package.json": { name: "fake-cloud-sdk", version: "1.0.0", type: "module", exports: { ".": { import: "./index.js", require: "./index.cjs" } } },
  "node_modules/fake-cloud-sdk/index.js": "export const connect = () => 'connected';\n",
  "node_modules/fake-cloud-sdk/index.cjs": "exports.connect = () => 'connected';\n",
};
const pluginPackage = {
  name: "orch-plugin-fake",
  type: "module",
  keywords: ["orch-plugin", "orch-flavor-fake"],
  exports: { ".": "./entry-lazy.mjs" },
  dependencies: { "fake-cloud-sdk": "^1.0.0" },
  peerDependencies: { "@orch/core": ">=0.1.0 <1.0.0" },
};
const descriptor = `{ kind: "orchestrator", flavor: "fake" }`;

let dir: TestDir;
beforeAll(async () => {
  dir = await testdir({
    ...fakeSdk,
    "package.json": pluginPackage,
    "entry-lazy.mjs": `export default { ...${descriptor}, async create() { const sdk = await import("fake-cloud-sdk"); return sdk; } };\n`,
    "entry-top.mjs": `import { connect } from "fake-cloud-sdk";\nexport default { ...${descriptor}, async create() { return connect(); } };\n`,
    "client.mjs": `export { connect } from "fake-cloud-sdk";\n`,
    "entry-transitive.mjs": `import { connect } from "./client.mjs";\nexport default { ...${descriptor}, async create() { return connect(); } };\n`,
    "entry-require.cjs": `const sdk = require("fake-cloud-sdk");\nmodule.exports = { default: { ...${descriptor}, async create() { return sdk.connect(); } } };\n`,
    "entry-typescript.ts": `import type { connect } from "fake-cloud-sdk";\nconst plugin: { kind: string; flavor: string; create(): Promise<typeof connect> } = { ...${descriptor}, async create() { return (await import("fake-cloud-sdk")).connect; } };\nexport default plugin;\n`,
    "entry-wrong-flavor.mjs": `export default { kind: "orchestrator", flavor: "other" };\n`,
    "entry-throws.mjs": `throw new Error("cannot reach the cloud at import time");\n`,
  });
});
afterAll(() => dir?.cleanup());

const plugin = referencePlugin({ flavor: "fake" });
const context = (entry?: string, extra: { sdkModules?: string[] } = {}) =>
  createConformanceContext({ plugin, packageRoot: dir.path, ...(entry ? { entry } : {}), ...extra });

describe("checkSdkLazy", () => {
  it("passes a plugin that imports its SDK inside create()", async () => {
    await expect(checkSdkLazy(context())).resolves.toBeUndefined();
  });

  it("catches an entry that imports its SDK at module top, naming the SDK and the importer", async () => {
    await expect(checkSdkLazy(context("entry-top.mjs"))).rejects.toThrow(/loads its SDK "fake-cloud-sdk" before create\(\) \(imported by entry-top\.mjs\)/);
  });

  it("catches an SDK imported at top by a module the entry imports", async () => {
    await expect(checkSdkLazy(context("entry-transitive.mjs"))).rejects.toThrow(/loads its SDK "fake-cloud-sdk" before create\(\) \(imported by client\.mjs\)/);
  });

  it("catches an SDK loaded with require() in a CommonJS entry", async () => {
    await expect(checkSdkLazy(context("entry-require.cjs"))).rejects.toThrow(/loads its SDK "fake-cloud-sdk" before create\(\) \(imported by entry-require\.cjs\)/);
  });

  it("lets type-only imports of the SDK through in a TypeScript entry", async () => {
    await expect(checkSdkLazy(context("entry-typescript.ts"))).resolves.toBeUndefined();
  });

  it("takes the SDK list from sdkModules when given", async () => {
    await expect(checkSdkLazy(context("entry-top.mjs", { sdkModules: ["another-sdk"] }))).resolves.toBeUndefined();
  });

  it("requires the entry to default-export the plugin under test", async () => {
    await expect(checkSdkLazy(context("entry-wrong-flavor.mjs"))).rejects.toThrow(/does not default-export the orchestrator plugin "fake".*flavor other/);
  });

  it("reports an entry that throws at import time", async () => {
    await expect(checkSdkLazy(context("entry-throws.mjs"))).rejects.toThrow(/cannot reach the cloud at import time/);
  });
});

describe("checkPackage", () => {
  it("accepts orch-plugin-<flavor> with the plugin keywords and core as a peer", async () => {
    await expect(checkPackage(context())).resolves.toBeUndefined();
  });

  it.each([
    [{ name: "orch-fake" }, /package "orch-fake" provides flavor "fake", but core resolves that flavor from @orch\/plugin-fake or orch-plugin-fake/],
    [{ keywords: ["orch-plugin"] }, /keywords lack "orch-flavor-fake"/],
    [{ dependencies: { "@orch/core": "^0.1.0" } }, /@orch\/core is in "dependencies"/],
    [{ peerDependencies: {} }, /@orch\/core is not in "peerDependencies"/],
  ])("rejects %j", async (change, message) => {
    const broken = await testdir({ "package.json": { ...pluginPackage, ...change } });
    try {
      await expect(checkPackage(createConformanceContext({ plugin, packageRoot: broken.path }))).rejects.toThrow(message);
    } finally {
      await broken.cleanup();
    }
  });

  it("accepts a scoped @acme/orch-plugin-<flavor>", async () => {
    const scoped = await testdir({ "package.json": { ...pluginPackage, name: "@acme/orch-plugin-fake" } });
    try {
      await expect(checkPackage(createConformanceContext({ plugin, packageRoot: scoped.path }))).resolves.toBeUndefined();
    } finally {
      await scoped.cleanup();
    }
  });
});
