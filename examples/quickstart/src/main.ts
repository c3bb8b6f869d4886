// Runs the iris quickstart on the default stack (local orchestrator, artifacts in .orch/artifacts)
// and prints where the run and its artifacts are. Parameters: `pnpm quickstart -- threshold=0.95`.
import { relative } from "node:path";
import { OrchError, isOrchError } from "@orch/core";
import { irisTraining } from "./pipeline.js";
import { promoteModel, evaluateModel } from "./steps.js";

// Errors a user can cause (OrchError: bad parameter, stack, store path …) are printed as the orch CLI
// prints them — `error:` and `hint:`, no stack trace — with exit code 2; a failed step exits 1.
process.on("uncaughtException", (error) => {
  if (!isOrchError(error)) throw error;
  process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
  process.exit(["E_STEP_FAILED", "E_STEP_TIMEOUT", "E_CANCELLED", "E_MATERIALIZER"].includes(error.code) ? 1 : 2);
});

const params = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new OrchError("E_USAGE", { message: `Expected key=value, got "${arg}".`, hint: "For example: pnpm quickstart -- threshold=0.95" });
    const value = arg.slice(eq + 1);
    return [arg.slice(0, eq), value === "" || Number.isNaN(Number(value)) ? value : Number(value)];
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
