import { defineProject } from "vitest/config";

// One vitest project for the sample and the plugin it uses: the plugin lives in ./orch-plugin-subprocess
// (linked into node_modules), so its conformance tests run here too.
export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: {
    name: "@orch/example-custom-orchestrator",
    include: ["src/**/*.test.ts", "orch-plugin-subprocess/src/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
