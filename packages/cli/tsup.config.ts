import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";
import { baseConfig } from "../../tsup.config.base.js";

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as { version: string };

export default defineConfig({
  ...baseConfig,
  entry: ["src/index.ts", "src/cli.ts"],
  define: { __ORCH_CLI_VERSION__: JSON.stringify(version) },
});
