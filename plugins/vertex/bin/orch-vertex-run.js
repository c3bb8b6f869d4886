#!/usr/bin/env node
// The `orch-vertex-run` command (the first and last task of a run a Vertex schedule starts). Committed, not built, so
// that package managers can link the bin before `dist/` exists (pnpm warns "Failed to create bin" for a
// bin inside a build output); it runs the build.
import { existsSync } from "node:fs";

const dist = new URL("../dist/bin/vertex-run.js", import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write("orch-vertex-run: @orch/plugin-vertex is not built (dist/bin/vertex-run.js is missing). Reinstall it, or run `pnpm build` in a checkout.\n");
  process.exit(2);
}
await import(dist.href);
