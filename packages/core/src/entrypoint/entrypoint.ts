import { parseArgs } from "node:util";
import { OrchError, isOrchError } from "../errors.js";
import { createArtifactStore, type ComponentSpec } from "../plugins/stack.js";
import { parseComponentConfig } from "../plugins/plugin.js";
import { resolvePlugin } from "../plugins/resolve-plugin.js";
import { findProjectRoot } from "../project.js";
import { assertValidRunId } from "../names.js";
import { useCompiledRoot } from "../kit/compiled-root.js";
import { runIdFromEnvironment } from "../kit/backend-run-id.js";
import { exitCodeFor, orchestrate as runOrchestrate } from "../kit/orchestrate.js";
import { loadStepDefinitions } from "../run/load-source.js";
import { runStep } from "../run/step-runner.js";
import { parseSnapshot } from "../snapshot/snapshot.js";
import { readJson, type ArtifactStore } from "../store/artifact-store.js";
import { journalKeys } from "../store/journal.js";
import { watchTermination } from "../run/stop-request.js";

const USAGE = `Usage:
  orch-entrypoint step --run-id ID --step STEP_ID [--artifact-store JSON] [--project-root DIR]
      Runs one step of the snapshot stored for the run (what every container flavor starts).
  orch-entrypoint orchestrate --run-id ID [--artifact-store JSON] [--orchestrator JSON] [--max-parallelism N] [--resume]
      Runs the whole scheduler for the run (what in-cluster orchestrators start).

  --artifact-store  {"flavor":"local","config":{"path":"/orch/artifacts"}}; default: $ORCH_ARTIFACT_STORE
  --orchestrator    {"flavor":"kubernetes","config":{…}}: launch steps through that flavor; default: in this process
  --project-root    folder that snapshot source paths are relative to; default: the nearest project root
  --run-id          default: from the variable $ORCH_RUN_ID_FROM names (a run the backend started and named)

Exit codes: 0 success, 1 the step or run failed, 2 usage error, 130 stopped.`;

/** Runs the orch-entrypoint command line; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  // Modules a container flavor compiled ahead of time (ORCH_COMPILED_ROOT), before anything loads.
  useCompiledRoot();
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        "run-id": { type: "string" },
        step: { type: "string" },
        "artifact-store": { type: "string" },
        orchestrator: { type: "string" },
        stack: { type: "string" },
        "project-root": { type: "string" },
        "max-parallelism": { type: "string" },
        resume: { type: "boolean", default: false },
      },
      strict: true,
    });
    // A run the backend named (a schedule's firing): $ORCH_RUN_ID_FROM says where its id is.
    const runId = values["run-id"] ?? runIdFromEnvironment() ?? required(undefined, "--run-id");
    assertValidRunId(runId);
    const projectRoot = values["project-root"] ?? findProjectRoot();
    const store = await openStore(values["artifact-store"] ?? process.env.ORCH_ARTIFACT_STORE, projectRoot);
    // The whole run: the plugin kit's orchestrate (it watches SIGINT/SIGTERM itself).
    if (command === "orchestrate") return await orchestrate();
    if (command !== "step") throw usage(`Unknown command "${command}".`);
    const snapshot = parseSnapshot(await readJson(store, journalKeys.snapshot(runId)) ?? missingSnapshot(runId, store), `run ${runId}`);
    const controller = new AbortController();
    const termination = watchTermination({ store, runId, controller });
    // A shutdown ends the process at once: whatever is in flight stays as it is for the replacement.
    const work = runOneStep();
    work.catch(() => {});
    return await Promise.race([work, termination.shutdown]);

    async function runOneStep(): Promise<number> {
      const stepId = required(values.step, "--step");
      const step = snapshot.steps[stepId];
      if (!step) throw usage(`Step "${stepId}" is not in the snapshot of run ${runId} (steps: ${snapshot.order.join(", ")}).`);
      const definitions = await loadStepDefinitions([step], projectRoot);
      const record = await runStep({
        snapshot,
        step,
        runId,
        store,
        definition: definitions.get(stepId)!,
        signal: controller.signal,
        projectRoot,
        // The launcher (container logs) collects this process's output; the step log gets the logger's lines.
        captureOutput: false,
        ...singleAttempt(),
        onLogLine: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`step ${stepId}: ${record.status}\n`);
      return exitCodeFor(record.status);
    }
    async function orchestrate(): Promise<number> {
      const spec = values.orchestrator ?? process.env.ORCH_ORCHESTRATOR;
      const maxParallelism = values["max-parallelism"] ? Number(values["max-parallelism"]) : undefined;
      return runOrchestrate({
        store,
        runId,
        projectRoot,
        resume: values.resume,
        ...(spec ? { orchestrator: await createOrchestrator(spec, projectRoot, store) } : {}),
        ...(values.stack ? { stack: values.stack } : {}),
        ...(maxParallelism ? { maxParallelism } : {}),
      });
    }
  } catch (error) {
    if (isOrchError(error)) {
      process.stderr.write(`orch-entrypoint: ${error.format()}\n`);
      return error.code === "E_USAGE" ? 2 : 1;
    }
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`orch-entrypoint: ${(error as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}


/** `$ORCH_ATTEMPT`: the backend retries the step and this process runs that one attempt. */
function singleAttempt(): { singleAttempt?: number } {
  const value = process.env.ORCH_ATTEMPT;
  if (value === undefined || value === "") return {};
  const attempt = Number(value);
  if (!Number.isInteger(attempt) || attempt < 1) throw usage(`ORCH_ATTEMPT must be a whole number >= 1 (the attempt this process runs), got ${JSON.stringify(value)}.`);
  return { singleAttempt: attempt };
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw usage(`${flag} is required.`);
  return value;
}

function usage(message: string): OrchError {
  return new OrchError("E_USAGE", { message, hint: "Run orch-entrypoint --help for usage." });
}

function missingSnapshot(runId: string, store: ArtifactStore): never {
  throw new OrchError("E_RUN_NOT_FOUND", {
    message: `No snapshot for run ${runId} in the artifact store at ${store.uri}.`,
    hint: "The orchestrator writes runs/<runId>/snapshot.json before starting steps; check --artifact-store.",
  });
}

async function openStore(spec: string | undefined, projectRoot: string): Promise<ArtifactStore> {
  if (!spec) throw usage("--artifact-store (or ORCH_ARTIFACT_STORE) is required.");
  return (await createArtifactStore(parseJsonFlag(spec, "--artifact-store") as ComponentSpec<never>, projectRoot)).store;
}

async function createOrchestrator(spec: string, projectRoot: string, store: ArtifactStore) {
  const component = parseJsonFlag(spec, "--orchestrator") as ComponentSpec;
  const plugin = await resolvePlugin("orchestrator", component.flavor, { projectRoot, ...(component.package ? { package: component.package } : {}) });
  return plugin.create(parseComponentConfig(plugin, component.config), { projectRoot, stackName: "in-cluster", artifactStore: store });
}

function parseJsonFlag(text: string, flag: string): { flavor: string; config?: Record<string, unknown>; package?: string } {
  try {
    const value = JSON.parse(text) as { flavor?: unknown };
    if (typeof value?.flavor === "string") return value as { flavor: string };
  } catch {
    // reported below
  }
  throw usage(`${flag} must be JSON like {"flavor":"local","config":{…}}.`);
}
