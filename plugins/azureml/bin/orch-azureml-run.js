#!/usr/bin/env node
// The `orch-azureml-run` command (the setup and finalize tasks of a scheduled run). Committed, not built,
// so that package managers can link the bin before `dist/` exists; it runs the build.
import { existsSync } from "node:fs";

const dist = new URL("../dist/bin/run.js", import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write("orch-azureml-run: @orch/plugin-azureml is not built (dist/bin/run.js is missing). Reinstall it, or run `pnpm build` in a checkout.\n");
  process.exit(2);
}
await import(dist.href);
