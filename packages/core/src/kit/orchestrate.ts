import { OrchError, isOrchError } from "../errors.js";
import { EXIT_STOPPED, watchTermination } from "../run/stop-request.js";
import { displayFlavor } from "../names.js";
import { parseComponentConfig, type Orchestrator, type OrchestratorPlugin } from "../plugins/plugin.js";
import { executeRun } from "../run/execute-run.js";
import { loadPipelineDefinition, loadStepDefinitions } from "../run/load-source.js";
import { serializeSnapshot } from "../snapshot/compile.js";
import { parseSnapshot, type Snapshot } from "../snapshot/snapshot.js";
import { readJson, type ArtifactStore } from "../store/artifact-store.js";
import { journalKeys, type RunStatus } from "../store/journal.js";

export interface OrchestrateOptions {
  store: ArtifactStore;
  runId: string;
  /** The folder snapshot source paths are relative to. */
  projectRoot: string;
  /**
   * The snapshot to run (a schedule's). Stored at runs/<runId>/snapshot.json when the journal has
   * none yet, so a restarted process finds the same one. Default: the journal's.
   */
  snapshot?: Snapshot;
  /**
   * Whose `stepLauncher` starts each step (a Job per step, …): a runtime, or a plugin and its
   * component config (validated here). Absent: steps run in this process.
   */
  orchestrator?: Orchestrator | { plugin: OrchestratorPlugin; config: unknown };
  /** Keep the steps a previous process of this run finished (a restarted pod). */
  resume?: boolean;
  stack?: string;
  maxParallelism?: number;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
}

/** Exit codes of orchestrating processes: 0 succeeded, 1 failed, 130 stopped, 143 shut down (SIGTERM without stop request). */
export function exitCodeFor(status: RunStatus | "cached" | "skipped" | "pending"): number {
  if (status === "succeeded" || status === "cached") return 0;
  return status === "stopped" ? EXIT_STOPPED : 1;
}

/**
 * Runs a whole run with core's scheduler in this process and returns the process exit code: what
 * `orch-entrypoint orchestrate` and a plugin's own bin (a schedule's CronJob, a pipeline step of a
 * native scheduler) do. SIGINT stops the run; SIGTERM stops it only after a stop request
 * (`settleRun`), otherwise it is a shutdown: the exit is immediate (143), nothing final is recorded,
 * and a replacement process resumes the run (`resume: true`).
 */
export async function orchestrate(options: OrchestrateOptions): Promise<number> {
  const { store, runId, projectRoot } = options;
  const log = options.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  let snapshot: Snapshot;
  const stored = await readJson(store, journalKeys.snapshot(runId));
  if (stored !== undefined) snapshot = parseSnapshot(stored, `run ${runId}`);
  else if (options.snapshot) {
    snapshot = options.snapshot;
    await store.write(journalKeys.snapshot(runId), serializeSnapshot(snapshot));
  } else {
    throw new OrchError("E_RUN_NOT_FOUND", {
      message: `No snapshot for run ${runId} in the artifact store at ${store.uri}.`,
      hint: "The orchestrator writes runs/<runId>/snapshot.json before starting the run; check the artifact store the process opened.",
    });
  }
  const orchestrator = await openOrchestrator(options.orchestrator, projectRoot, store);
  const controller = new AbortController();
  const termination = watchTermination({ store, runId, controller });
  try {
    const launch = orchestrator?.stepLauncher;
    const pipeline = snapshot.pipeline.dynamic ? await loadPipelineDefinition(snapshot, projectRoot) : undefined;
    const definitions = launch || snapshot.pipeline.dynamic ? undefined : await loadStepDefinitions(Object.values(snapshot.steps), projectRoot);
    const running = executeRun({
      snapshot,
      runId,
      store,
      signal: controller.signal,
      projectRoot,
      ...(options.resume ? { resume: true } : {}),
      ...(options.stack ? { stack: options.stack } : {}),
      ...(orchestrator ? { orchestrator: displayFlavor(orchestrator.flavor) } : {}),
      ...(definitions ? { definitions } : {}),
      ...(pipeline ? { pipeline } : {}),
      ...(launch ? { launch } : {}),
      ...(options.maxParallelism ? { maxParallelism: options.maxParallelism } : {}),
      observer: { stepUpdated: (record) => log(`step ${record.stepId}: ${record.status}`) },
    });
    running.catch(() => {});
    // A shutdown exits at once: whatever is in flight stays as it is for the replacement.
    const outcome = await Promise.race([running, termination.shutdown]);
    if (typeof outcome === "number") return outcome;
    log(`run ${runId}: ${outcome.run.status}`);
    return exitCodeFor(outcome.run.status);
  } finally {
    termination.dispose();
    await orchestrator?.dispose?.();
  }
}

async function openOrchestrator(spec: OrchestrateOptions["orchestrator"], projectRoot: string, store: ArtifactStore): Promise<Orchestrator | undefined> {
  if (!spec) return undefined;
  if (!("plugin" in spec)) return spec;
  return spec.plugin.create(parseComponentConfig(spec.plugin, spec.config), { projectRoot, stackName: "in-cluster", artifactStore: store });
}

/**
 * The main of a plugin's bin: runs `main` and turns an OrchError into one `name: error / hint`
 * on stderr and exit code 2 (usage) or 1; a bad command line (node:util parseArgs) prints `usage`.
 */
export async function runPluginBin(name: string, usage: string, main: () => Promise<number>): Promise<number> {
  try {
    return await main();
  } catch (error) {
    if (isOrchError(error)) {
      process.stderr.write(`${name}: ${error.format()}\n`);
      return error.code === "E_USAGE" ? 2 : 1;
    }
    if ((error as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${name}: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    throw error;
  }
}
