import { defineProject } from "vitest/config";

// For running this package's tests on their own (cd orch-plugin-subprocess && vitest run). In the orch
// monorepo they run as part of the @orch/example-custom-orchestrator project.
export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: { name: "orch-plugin-subprocess", testTimeout: 60_000 },
});
