import { defineConfig } from "tsup";

// splitting keeps runtime.ts (and the SDK it imports) in its own chunk, loaded only by create().
export default defineConfig({ entry: ["src/index.ts"], format: ["esm"], dts: true, splitting: true, clean: true, sourcemap: true, target: "node20" });
