// The declaration must stay light: validating a stack or listing flavors never loads the cloud SDK.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dependencies = Object.keys((JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> }).dependencies);

describe("the package entry", () => {
  it("imports no SDK: only @orch/core and its own schema; the runtime is a dynamic import", () => {
    for (const file of ["index.ts", "schema.ts"]) {
      const source = readFileSync(new URL(`./${file}`, import.meta.url), "utf8");
      const imported = [...source.matchAll(/^(?:import|export)[^"'\n]*from\s+["']([^"']+)["']/gm)].map((m) => m[1]);
      expect(imported.filter((name) => dependencies.some((dep) => name === dep || name!.startsWith(`${dep}/`))), file).toEqual([]);
    }
    expect(readFileSync(new URL("./index.ts", import.meta.url), "utf8")).toMatch(/await import\("\.\/runtime\.js"\)/);
  });
});
