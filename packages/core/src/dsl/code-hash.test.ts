import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import { stepCodeHash } from "./code-hash.js";
import { clearModuleGraphCache, moduleGraphHash } from "./module-graph.js";

function project(files: Record<string, string>): string {
  const dir = tempDir("orch-code-hash-");
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const base = {
  "package.json": `{ "name": "p", "type": "module" }`,
  "src/steps.ts": `import { helper } from "./lib/helper.js";\nimport { z } from "zod";\nimport type { T } from "./types";\nexport const run = (x: number) => helper(x);\n`,
  "src/lib/helper.ts": `import { steps } from "../steps.js"; // a cycle\nexport const helper = (x: number): number => x + 1000;\n`,
  "src/types.ts": `export type T = number;\n`,
  "src/unrelated.ts": `export const u = 1;\n`,
  "node_modules/zod/package.json": `{ "name": "zod", "version": "4.1.0" }`,
};

beforeEach(() => clearModuleGraphCache());

describe("module graph hash", () => {
  it("changes when an imported project file changes, not when an unrelated one does", () => {
    const dir = project(base);
    const before = moduleGraphHash(join(dir, "src/steps.ts"));
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(join(dir, "src/unrelated.ts"), "export const u = 2;\n");
    clearModuleGraphCache();
    expect(moduleGraphHash(join(dir, "src/steps.ts"))).toBe(before);
    writeFileSync(join(dir, "src/lib/helper.ts"), base["src/lib/helper.ts"].replace("1000", "2000"));
    clearModuleGraphCache();
    expect(moduleGraphHash(join(dir, "src/steps.ts"))).not.toBe(before);
  });

  it("counts packages by name@version", () => {
    const dir = project(base);
    const before = moduleGraphHash(join(dir, "src/steps.ts"));
    writeFileSync(join(dir, "node_modules/zod/package.json"), `{ "name": "zod", "version": "4.2.0" }`);
    clearModuleGraphCache();
    expect(moduleGraphHash(join(dir, "src/steps.ts"))).not.toBe(before);
  });

  it("is the same for a copy of the project elsewhere (paths are relative) and accepts file URLs", () => {
    const dir = project(base);
    const copy = tempDir("orch-code-hash-copy-");
    cpSync(dir, copy, { recursive: true });
    expect(moduleGraphHash(join(copy, "src/steps.ts"))).toBe(moduleGraphHash(`file://${join(dir, "src/steps.ts")}`));
  });

  it("reads modules in folders with spaces and non-ASCII names, given as paths or encoded file URLs", () => {
    const dir = project({ "my proj ü/steps.ts": `import { h } from "./hélper.js";\n`, "my proj ü/hélper.ts": "export const h = 1;\n" });
    const file = join(dir, "my proj ü/steps.ts");
    const hash = moduleGraphHash(file);
    expect(hash).toBeDefined();
    expect(moduleGraphHash(pathToFileURL(file).href)).toBe(hash);
    writeFileSync(join(dir, "my proj ü/hélper.ts"), "export const h = 2;\n");
    clearModuleGraphCache();
    expect(moduleGraphHash(file)).not.toBe(hash);
  });

  it("falls back to a text scan where the lexer fails (JSX), still following the imports", () => {
    const dir = project({ "c.tsx": `import { h } from "./h.js";\nexport const C = () => <p className="a">{h} a/b</p>;\n`, "h.ts": "export const h = 1;\n" });
    const before = moduleGraphHash(join(dir, "c.tsx"));
    writeFileSync(join(dir, "h.ts"), "export const h = 2;\n");
    clearModuleGraphCache();
    expect(moduleGraphHash(join(dir, "c.tsx"))).not.toBe(before);
  });

  it("gives undefined for a module that is not a readable file", () => {
    expect(moduleGraphHash("/nonexistent/steps.ts")).toBeUndefined();
    expect(moduleGraphHash("node:internal")).toBeUndefined();
  });

  it("follows CommonJS require() and dynamic import() of literal paths; a missing import still counts", () => {
    const dir = project({ "a.cjs": `const b = require("./b.cjs");\n`, "b.cjs": `module.exports = 1;\n`, "c.mjs": `await import("./d.mjs"); import "./gone.js";\n`, "d.mjs": `export default 1;\n` });
    const a = moduleGraphHash(join(dir, "a.cjs"));
    const c = moduleGraphHash(join(dir, "c.mjs"));
    writeFileSync(join(dir, "b.cjs"), "module.exports = 2;\n");
    writeFileSync(join(dir, "d.mjs"), "export default 2;\n");
    clearModuleGraphCache();
    expect(moduleGraphHash(join(dir, "a.cjs"))).not.toBe(a);
    expect(moduleGraphHash(join(dir, "c.mjs"))).not.toBe(c);
  });
});

describe("step code hash", () => {
  const sourceFile = undefined;
  it("tells bound and native functions apart by name", () => {
    function train() {}
    function evaluate() {}
    const a = stepCodeHash({ name: "a", fn: train.bind(null), sourceFile, cacheVersion: undefined });
    const b = stepCodeHash({ name: "b", fn: evaluate.bind(null), sourceFile, cacheVersion: undefined });
    const c = stepCodeHash({ name: "c", fn: Math.max, sourceFile, cacheVersion: undefined });
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it("replaces the module graph by cacheVersion when one is given", () => {
    const dir = project(base);
    const fn = (x: number) => x;
    const file = join(dir, "src/steps.ts");
    const withVersion = stepCodeHash({ name: "s", fn, sourceFile: file, cacheVersion: "1" });
    const derived = stepCodeHash({ name: "s", fn, sourceFile: file, cacheVersion: undefined });
    writeFileSync(join(dir, "src/lib/helper.ts"), "export const helper = 0;\n");
    clearModuleGraphCache();
    expect(stepCodeHash({ name: "s", fn, sourceFile: file, cacheVersion: "1" })).toBe(withVersion);
    expect(stepCodeHash({ name: "s", fn, sourceFile: file, cacheVersion: "2" })).not.toBe(withVersion);
    expect(stepCodeHash({ name: "s", fn, sourceFile: file, cacheVersion: undefined })).not.toBe(derived);
  });
});
