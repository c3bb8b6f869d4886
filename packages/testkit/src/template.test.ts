import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrchestratorPlugin } from "@orch/core/plugin";
import { orchestratorChecks } from "./checks.js";
import { ORCHESTRATOR_CHECKS, createConformanceContext, type ConformanceContext } from "./context.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const generator = pathToFileURL(join(packageRoot, "../../templates/orchestrator-plugin/create.mjs")).href;

// The plugin template (templates/orchestrator-plugin) must pass the suite as generated. It is generated
// under this package's node_modules so that its imports of @orch/core resolve, and vitest ignores it.
describe("plugin template", () => {
  let target: string;
  let context: ConformanceContext;
  beforeAll(async () => {
    target = join(await mkdtemp(join(packageRoot, "node_modules", ".orch-template-")), "orch-plugin-acme-batch");
    const { createPlugin } = (await import(generator)) as { createPlugin(o: { flavor: string; target: string }): Promise<string[]> };
    await createPlugin({ flavor: "acme-batch", target });
    const plugin = ((await import(pathToFileURL(join(target, "src/index.ts")).href)) as { default: OrchestratorPlugin }).default;
    context = createConformanceContext({ plugin, packageRoot: target, parallelWaitSeconds: 10 });
  });
  afterAll(async () => {
    await context?.cleanup();
    if (target) await rm(join(target, ".."), { recursive: true, force: true });
  });

  it("generates a plugin named after the flavor", async () => {
    expect(context.plugin.flavor).toBe("acme-batch");
    const pkg = (await import(pathToFileURL(join(target, "package.json")).href, { with: { type: "json" } })) as { default: { name: string; keywords: string[] } };
    expect(pkg.default.name).toBe("orch-plugin-acme-batch");
    expect(pkg.default.keywords).toContain("orch-flavor-acme-batch");
  });

  it("refuses a flavor id that is not canonical", async () => {
    const { createPlugin } = (await import(generator)) as { createPlugin(o: { flavor: string; target: string }): Promise<string[]> };
    await expect(createPlugin({ flavor: "Acme_Batch", target: join(target, "..", "nope") })).rejects.toThrow(/not a canonical flavor id/);
  });

  it.each(ORCHESTRATOR_CHECKS.map((name) => [name]))("passes the %s check as generated", async (name) => {
    await orchestratorChecks[name].check(context);
  });
});
