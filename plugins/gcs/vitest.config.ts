import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: { name: "@orch/plugin-gcs", typecheck: { enabled: true, include: ["src/**/*.test-d.ts"] }, testTimeout: 60_000, hookTimeout: 60_000 },
});
