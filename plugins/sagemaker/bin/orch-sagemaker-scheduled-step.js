#!/usr/bin/env node
// The `orch-sagemaker-scheduled-step` command (what each processing job of a schedule's pipeline runs).
// Committed, not built, so package managers can link the bin before `dist/` exists; it runs the build.
import { existsSync } from "node:fs";

const dist = new URL("../dist/bin/scheduled-step.js", import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write("orch-sagemaker-scheduled-step: @orch/plugin-sagemaker is not built (dist/bin/scheduled-step.js is missing). Reinstall it, or run `pnpm build` in a checkout.\n");
  process.exit(2);
}
await import(dist.href);
