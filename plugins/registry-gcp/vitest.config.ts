import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: { name: "@orch/registry-gcp", testTimeout: 120_000, hookTimeout: 60_000 },
});
