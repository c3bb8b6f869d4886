#!/usr/bin/env node
// The `orch-airflow-scheduled-step` command (what each task of a schedule's DAG runs). Committed, not
// built, so that package managers can link the bin before `dist/` exists; it runs the build.
import { existsSync } from "node:fs";

const dist = new URL("../dist/bin/scheduled-step.js", import.meta.url);
if (!existsSync(dist)) {
  process.stderr.write("orch-airflow-scheduled-step: @orch/plugin-airflow is not built (dist/bin/scheduled-step.js is missing). Reinstall it, or run `pnpm build` in a checkout.\n");
  process.exit(2);
}
await import(dist.href);
