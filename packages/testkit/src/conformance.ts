import { afterAll, describe, expect, it } from "vitest";
import type { z } from "@orch/core";
import { orchestratorChecks } from "./checks.js";
import { ConformanceSkip } from "./errors.js";
import { ORCHESTRATOR_CHECKS, createConformanceContext, packageRootOf, type ConformanceContext, type OrchestratorConformanceOptions } from "./context.js";

/**
 * The conformance suite every orchestrator plugin runs (first-party and third-party alike): one
 * `it()` per check, inside `describe("orch conformance: <flavor>")`. Each check is also exported as
 * a plain function (`checkChain(context)` …) for testing a check itself.
 *
 * @example
 * import plugin from "./index.js";
 * import { testOrchestratorPlugin } from "@orch/testkit";
 * testOrchestratorPlugin({ plugin, config: { maxParallelism: 4 } });
 */
export function testOrchestratorPlugin<S extends z.ZodType>(options: OrchestratorConformanceOptions<S>): void {
  describe(`orch conformance: ${options.plugin.flavor}`, () => {
    let context: ConformanceContext | undefined;
    // Built lazily so that the default packageRoot comes from the running test file.
    const getContext = () =>
      (context ??= createConformanceContext({
        ...(options as unknown as OrchestratorConformanceOptions),
        packageRoot: options.packageRoot ?? packageRootOf(expect.getState().testPath),
      }));
    afterAll(async () => {
      await context?.cleanup();
    });
    const timeout = options.timeout ?? 60_000;
    for (const name of ORCHESTRATOR_CHECKS) {
      const { title, check } = orchestratorChecks[name];
      const reason = options.skip?.[name];
      if (reason) {
        console.warn(`[orch testkit] ${options.plugin.flavor}: skipping "${name}" — ${reason}`);
        it.skip(`${title} (skipped: ${reason})`, () => {});
        continue;
      }
      it(
        title,
        async (test) => {
          try {
            await check(getContext());
          } catch (error) {
            if (!(error instanceof ConformanceSkip)) throw error;
            // Nothing to verify for this plugin: say so, and report the test as skipped, not passed.
            console.warn(`[orch testkit] ${options.plugin.flavor}: skipping "${name}" — ${error.reason}`);
            test.skip(error.reason);
          }
        },
        timeout,
      );
    }
    options.additionalTests?.(new Proxy({} as ConformanceContext, { get: (_, key) => getContext()[key as keyof ConformanceContext] }));
  });
}
