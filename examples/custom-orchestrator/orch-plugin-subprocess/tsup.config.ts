import { defineConfig } from "tsup";

// runtime.ts becomes its own chunk: it is only imported by create().
export default defineConfig({ entry: ["src/index.ts"], format: ["esm"], dts: true, splitting: true, clean: true, sourcemap: true, target: "node20" });
