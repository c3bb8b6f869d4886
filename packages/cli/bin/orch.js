#!/usr/bin/env node
// The `orch` command. An installed package runs the built CLI (dist/). In a checkout of the orch
// monorepo (src/ next to dist/) it runs the TypeScript sources in this same process through tsx,
// resolving workspace packages to their sources (the "@orch/source" export condition).
// ORCH_CLI_FROM_SOURCE=1 forces the sources, ORCH_CLI_FROM_SOURCE=0 the build.
import { existsSync } from "node:fs";

const dist = new URL("../dist/cli.js", import.meta.url);
const source = new URL("../src/cli.ts", import.meta.url);
const mode = process.env.ORCH_CLI_FROM_SOURCE;
const fromSource = mode === "1" || (mode !== "0" && existsSync(source)) || !existsSync(dist);

if (!fromSource) {
  await import(dist.href);
} else {
  const { register } = await import("node:module");
  register("./source-conditions.js", import.meta.url);
  const tsx = await import("tsx/esm/api");
  tsx.register();
  // What `node --conditions=@orch/source --import tsx` would have put there (core and forked children read it).
  process.execArgv.push("--conditions=@orch/source", `--import=${import.meta.resolve("tsx")}`);
  globalThis[Symbol.for("orch.cli.tsx")] = true;
  await import(source.href);
}
