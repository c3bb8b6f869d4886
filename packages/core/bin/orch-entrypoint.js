#!/usr/bin/env node
// The `orch-entrypoint` command. This file is committed (not built) so that package managers can link
// the bin on a fresh install of the monorepo, before `dist/` exists — pnpm warns "Failed to create bin"
// for a bin that points into a build output (pnpm/pnpm#1801 recommends such a shim).
// An installed package runs the build (dist/); a checkout of the orch monorepo (src/ next to dist/)
// runs the TypeScript sources through tsx, resolving workspace packages to their sources (the
// "@orch/source" export condition), like the `orch` command does.
import { existsSync } from "node:fs";

const dist = new URL("../dist/entrypoint/bin.js", import.meta.url);
const source = new URL("../src/entrypoint/bin.ts", import.meta.url);

if (!existsSync(source) && existsSync(dist)) {
  await import(dist.href);
} else if (existsSync(source)) {
  const { register } = await import("node:module");
  register("./source-conditions.js", import.meta.url);
  const tsx = await import("tsx/esm/api");
  tsx.register();
  // What `node --conditions=@orch/source --import tsx` would have put there (forked step workers read it).
  process.execArgv.push("--conditions=@orch/source", `--import=${import.meta.resolve("tsx")}`);
  await import(source.href);
} else {
  process.stderr.write("orch-entrypoint: @orch/core is incomplete (dist/entrypoint/bin.js is missing). Reinstall @orch/core.\n");
  process.exit(2);
}
