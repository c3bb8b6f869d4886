import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: {
    name: "@orch/plugin-azure",
    // One Azurite blob service (Microsoft's emulator, from npm) on 127.0.0.1 for every test file.
    globalSetup: ["./test/global-setup.ts"],
    typecheck: { enabled: true, include: ["src/**/*.test-d.ts"] },
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
