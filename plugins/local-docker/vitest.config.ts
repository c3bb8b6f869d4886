import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: { name: "@orch/plugin-local-docker", hookTimeout: 240_000, testTimeout: 180_000 },
});
