import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@orch/source"] },
  ssr: { resolve: { conditions: ["@orch/source"] } },
  test: {
    name: "@orch/plugin-azureml",
    // One Azurite blob service (the azure store's emulator) and one TLS certificate for every test file;
    // NODE_EXTRA_CA_CERTS is set before the test workers start, so they trust the loopback ARM server.
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
