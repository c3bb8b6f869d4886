// `@orch/core/host/light` is what the CLI's listing commands load instead of all of core: it must stay
// Node-only (no zod, no runner, no plugin loader), or `orch run list` pays for core again.
import { fileURLToPath } from "node:url";
import { parseDependencyTree } from "dpdm";
import { describe, expect, it } from "vitest";

const coreRoot = fileURLToPath(new URL("..", import.meta.url));

describe("@orch/core/host/light", () => {
  it("reaches only a few small modules of core and no package but fastest-levenshtein", async () => {
    const tree = await parseDependencyTree("src/host-light.ts", { cwd: coreRoot, context: coreRoot, transform: true, onProgress: () => {} });
    const files = Object.keys(tree).filter((file) => file.startsWith("src/"));
    const packages = new Set(
      Object.values(tree)
        .flatMap((deps) => deps ?? [])
        .filter((dep) => !dep.request.startsWith(".") && !dep.request.startsWith("node:"))
        .map((dep) => dep.request),
    );
    expect([...packages]).toEqual(["fastest-levenshtein"]);
    expect(files.sort()).toEqual(["src/errors.ts", "src/flavors.ts", "src/host-light.ts", "src/plugins/package-manager.ts", "src/project.ts", "src/run/process-identity.ts", "src/store/step-journal-format.ts", "src/suggest.ts"]);
  });
});
