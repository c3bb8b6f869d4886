#!/usr/bin/env node
// The `orch-databricks-run` command (the start and finish tasks of every orch job). Committed, not built,
// so package managers can link the bin before `dist/` exists; it runs the build.
import { existsSync } from "node:fs";

const dist = new URL("../dist/bin/run.js", import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write("orch-databricks-run: @orch/plugin-databricks is not built (dist/bin/run.js is missing). Reinstall it, or run `pnpm build` in a checkout.\n");
  process.exit(2);
}
await import(dist.href);
