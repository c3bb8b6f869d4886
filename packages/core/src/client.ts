import { loadArtifact, loadOutput, readArtifactMeta } from "./artifacts/artifact-io.js";
import type { Loaded } from "./artifacts/streamed.js";
import { OrchError } from "./errors.js";
import type { StepRef } from "./run/run-pipeline.js";
import type { ArtifactStore } from "./store/artifact-store.js";
import { createLocalArtifactStore } from "./store/local-store.js";
import { listRunIds, readRunRecord, readStepRecords, type ArtifactMeta, type RunRecord, type StepRecord } from "./store/journal.js";

/**
 * Reads runs and artifacts straight from an artifact store's journal, wherever they ran.
 *
 * @example
 * const client = createClient(".orch/artifacts");
 * const [latest] = await client.listRuns({ pipeline: "training", limit: 1 });
 * const model = await client.loadOutput(latest.runId, train);
 */
export function createClient(store: ArtifactStore | string) {
  const artifactStore = typeof store === "string" ? createLocalArtifactStore(store) : store;
  const run = async (runId: string): Promise<RunRecord> => {
    const record = await readRunRecord(artifactStore, runId);
    if (!record) throw new OrchError("E_RUN_NOT_FOUND", { message: `Run ${runId} is not in the artifact store at ${artifactStore.uri}.`, hint: "List runs with client.listRuns() or orch run list." });
    return record;
  };
  return {
    store: artifactStore,
    /** Runs, newest first. */
    async listRuns(filter: { pipeline?: string; status?: RunRecord["status"]; limit?: number } = {}): Promise<RunRecord[]> {
      const ids = (await listRunIds(artifactStore)).reverse();
      const runs: RunRecord[] = [];
      for (const id of ids) {
        const record = await readRunRecord(artifactStore, id);
        if (!record || (filter.pipeline && record.pipeline !== filter.pipeline) || (filter.status && record.status !== filter.status)) continue;
        runs.push(record);
        if (filter.limit && runs.length >= filter.limit) break;
      }
      return runs;
    },
    getRun: run,
    async getSteps(runId: string): Promise<StepRecord[]> {
      await run(runId);
      return readStepRecords(artifactStore, runId);
    },
    loadArtifact: <T = unknown>(artifactId: string) => loadArtifact<T>(artifactStore, artifactId),
    artifactMeta: (artifactId: string): Promise<ArtifactMeta | undefined> => readArtifactMeta(artifactStore, artifactId),
    /** Loads a step's output from a run; pass the step definition for a typed value. */
    async loadOutput<R>(runId: string, step: StepRef<R> | string, options: { id?: string; output?: string } = {}): Promise<Loaded<R>> {
      const stepId = typeof step === "string" ? step : (options.id ?? step.name);
      const steps = await readStepRecords(artifactStore, runId);
      const record = steps.find((s) => s.stepId === stepId);
      const output = record?.outputs[options.output ?? Object.keys(record?.outputs ?? {})[0] ?? "output"];
      if (!output) {
        throw new OrchError("E_ARTIFACT_NOT_FOUND", { step: stepId, message: `Run ${runId} has no output for step "${stepId}".`, hint: `Steps: ${steps.map((s) => s.stepId).join(", ")}` });
      }
      return loadOutput<Loaded<R>>(artifactStore, output);
    },
  };
}

export type OrchClient = ReturnType<typeof createClient>;
