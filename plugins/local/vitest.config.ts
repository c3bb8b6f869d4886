import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: { name: "@orch/plugin-local", typecheck: { enabled: true, include: ["src/**/*.test-d.ts"] }, testTimeout: 30_000 },
});
