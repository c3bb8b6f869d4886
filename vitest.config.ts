import { defineConfig } from "vitest/config";

// One vitest run over every workspace package; each package has its own `defineProject` config.
export default defineConfig({
  test: {
    projects: ["packages/*", "plugins/*", "examples/*", "test"],
  },
});
