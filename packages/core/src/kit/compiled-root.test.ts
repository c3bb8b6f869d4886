import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compiledModuleRoot, setCompiledModuleRoot } from "../run/compiled-modules.js";
import { importUserModule } from "../run/load-source.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { compiledModulePath, useCompiledRoot } from "./compiled-root.js";

afterEach(() => setCompiledModuleRoot(undefined));

describe("useCompiledRoot (ORCH_COMPILED_ROOT)", () => {
  it("makes the loader take a module from the precompiled folder instead of the project's source", async () => {
    const project = tempDir();
    const compiled = tempDir();
    mkdirSync(join(compiled, "src"), { recursive: true });
    writeFileSync(join(compiled, `${compiledModulePath("src/steps.ts")}.js`), "globalThis.__orchKitCompiledLoaded = 'from the bundle';\n");
    expect(useCompiledRoot({ ORCH_COMPILED_ROOT: compiled })).toBe(compiled);
    // The project has no src/steps.ts at all: only the bundle can satisfy the import.
    const url = await importUserModule("src/steps.ts", project);
    expect(url).toContain(compiled);
    expect((globalThis as { __orchKitCompiledLoaded?: string }).__orchKitCompiledLoaded).toBe("from the bundle");
  });

  it("leaves the loader alone without the variable (or with an empty one)", () => {
    expect(useCompiledRoot({})).toBeUndefined();
    expect(compiledModuleRoot()).toBeUndefined();
    expect(useCompiledRoot({ ORCH_COMPILED_ROOT: "" })).toBeUndefined();
  });

  it("maps module paths into the bundle, outside-project modules under __up__", () => {
    expect(compiledModulePath("src/steps.ts")).toBe("src/steps");
    expect(compiledModulePath("../common/util.mts")).toBe("__up__/common/util");
  });
});
