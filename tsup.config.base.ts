import type { Options } from "tsup";

/** Shared build settings: each package's tsup.config.ts spreads this and names its entries. */
export const baseConfig: Options = {
  format: ["esm"],
  dts: true,
  splitting: true,
  clean: true,
  sourcemap: true,
  target: "node20",
};
