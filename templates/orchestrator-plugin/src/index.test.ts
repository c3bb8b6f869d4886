import { fileURLToPath } from "node:url";
import { describe } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import plugin from "./index.js";

describe("orchestrator: my-flavor", () => {
  testOrchestratorPlugin({
    plugin,
    config: {},
    packageRoot: fileURLToPath(new URL("..", import.meta.url)),
    // The modules that must not load before create(); default: your package's "dependencies".
    // sdkModules: ["my-flavor-sdk"],
  });
});
