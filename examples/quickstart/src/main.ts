// Runs the iris quickstart on the default stack (local orchestrator, artifacts in .orch/artifacts)
// and prints where the run and its artifacts are. Parameters: `pnpm quickstart -- threshold=0.95`.
import { relative } from "node:path";
import { irisTraining } from "./pipeline.js";
import { promoteModel, evaluateModel } from "./steps.js";

const params = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.split("=");
    if (!key || value === undefined) throw new Error(`Expected key=value, got "${arg}"`);
    return [key, Number.isNaN(Number(value)) ? value : Number(value)];
  }),
);

const result = await irisTraining.run({
  params,
  observer: {
    stepUpdated: (step) => {
      if (step.status === "running") return;
      const time = step.durationMs === undefined ? "" : ` (${step.durationMs} ms)`;
      console.log(`  ${step.status.padEnd(9)} ${step.stepId}${time}`);
    },
  },
});

const store = result.artifactStore.uri;
// Relative to where the user typed the command (pnpm runs scripts from the package folder, INIT_CWD is theirs).
const where = relative(process.env.INIT_CWD ?? process.cwd(), store) || store;
console.log(`\nrun ${result.runId}: ${result.status}`);
console.log(`  journal:   ${where}/runs/${result.runId}/ (snapshot.json, run.json, steps/, logs/)`);
console.log(`  artifacts: ${where}/artifacts/`);
if (result.status === "succeeded") {
  const accuracy = await result.load(evaluateModel);
  const decision = await result.load(promoteModel);
  const cached = result.steps.filter((s) => s.status === "cached").length;
  console.log(`  accuracy:  ${(accuracy * 100).toFixed(1)}%  → ${decision.reason}`);
  console.log(`  cached:    ${cached} of ${result.steps.length} steps reused from earlier runs`);
}
process.exitCode = result.status === "succeeded" ? 0 : 1;
