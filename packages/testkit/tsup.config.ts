import { defineConfig } from "tsup";
import { baseConfig } from "../../tsup.config.base.js";

// The fixtures are their own entry: orchestrators that run steps in other processes import that module there.
export default defineConfig({ ...baseConfig, entry: ["src/index.ts", "src/fixtures/pipelines.ts"], external: ["vitest"] });
