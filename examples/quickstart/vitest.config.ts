import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: { name: "@orch/example-quickstart", testTimeout: 30_000 },
});
