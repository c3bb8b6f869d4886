import { fileURLToPath } from "node:url";
import { describe } from "vitest";
import { testOrchestratorPlugin } from "@orch/testkit";
import plugin from "./index.js";

describe("orchestrator: local", () => {
  testOrchestratorPlugin({ plugin, config: { maxParallelism: 4 }, packageRoot: fileURLToPath(new URL("..", import.meta.url)) });
});
