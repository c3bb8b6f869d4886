import { isDeepStrictEqual } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { type RunRecord, type RunStatus, type Snapshot, type StepRecord, type StepStatus } from "@orch/core";
import { journalKeys, loadArtifact, parseSnapshot, readJson, readRunRecord, readStepRecords, type ArtifactStore } from "@orch/core/plugin";
import { ConformanceError, describeError } from "./errors.js";
import { LOG_MARKER } from "./fixtures/pipelines.js";

/** What one step of a run must look like in the journal. */
export interface StepExpectation {
  status: StepStatus;
  /** The step's (single) output value, compared deeply after loading it from the artifact store. */
  value?: unknown;
  attempts?: number;
  /** A piece of the recorded error message. */
  errorIncludes?: string;
}

/** What a run must look like in the journal (`runs/<id>/…` in the artifact store). */
export interface RunExpectation {
  status: RunStatus;
  steps: Record<string, StepExpectation>;
  /** Every step that ran (succeeded, not cached) must have logged its marker line. Default true. */
  logs?: boolean;
}

export interface VerifiedRun {
  run: RunRecord;
  snapshot: Snapshot;
  steps: Map<string, StepRecord>;
}

const EXECUTED: ReadonlySet<StepStatus> = new Set(["succeeded", "cached", "failed"]);
const FINAL_RUN: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "stopped"]);

/**
 * Reads a run's journal from the artifact store and checks it against `expected`: the run record,
 * the snapshot, one final record per step, statuses, attempts, errors, output values, step logs, and
 * that every step started only after all its upstream steps had finished (a valid topological order).
 *
 * @throws ConformanceError naming the first thing that is wrong.
 */
export async function verifyRunJournal(
  store: ArtifactStore,
  runId: string,
  expected: RunExpectation,
  options: { check?: string; flavor?: string; waitMs?: number } = {},
): Promise<VerifiedRun> {
  const check = options.check ?? "journal";
  const fail = (message: string): never => {
    throw new ConformanceError(check, options.flavor, message);
  };
  const where = `run ${runId} in the artifact store at ${store.uri}`;

  // Fire-and-forget flavors return before the run ends: the journal is the source of truth, so wait on it.
  let run = await readRunRecord(store, runId);
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  while (run && !FINAL_RUN.has(run.status) && Date.now() < deadline) {
    await sleep(200);
    run = await readRunRecord(store, runId);
  }
  if (!run) return fail(`${journalKeys.run(runId)} is missing for ${where}. Orchestrators must write the journal (use core's executeRun, or write run.json with writeRunRecord).`);
  if (!FINAL_RUN.has(run.status)) fail(`${where} is still "${run.status}"; its run.json never reached a final status.`);
  if (run.status !== expected.status) {
    fail(`${where} ended "${run.status}", expected "${expected.status}"${run.error ? ` (run error: ${run.error.message})` : ""}.${await stepSummary(store, runId)}`);
  }
  if (!run.finishedAt) fail(`${journalKeys.run(runId)} has no finishedAt although the run ended.`);

  const rawSnapshot = await readJson(store, journalKeys.snapshot(runId));
  if (rawSnapshot === undefined) fail(`${journalKeys.snapshot(runId)} is missing for ${where}; steps run elsewhere read their spec from it.`);
  let snapshot: Snapshot;
  try {
    snapshot = parseSnapshot(rawSnapshot, journalKeys.snapshot(runId));
  } catch (error) {
    return fail(describeError(error));
  }

  const records = new Map((await readStepRecords(store, runId)).map((record) => [record.stepId, record]));
  const expectedIds = Object.keys(expected.steps).sort();
  const recordedIds = [...records.keys()].sort();
  if (!isDeepStrictEqual(expectedIds, recordedIds)) {
    fail(`${where} has step records [${recordedIds.join(", ")}], expected [${expectedIds.join(", ")}].`);
  }
  const snapshotIds = Object.keys(snapshot.steps).sort();
  if (!isDeepStrictEqual(snapshotIds, expectedIds)) {
    fail(`${journalKeys.snapshot(runId)} lists steps [${snapshotIds.join(", ")}], expected [${expectedIds.join(", ")}] (dynamic pipelines must record the steps they discovered).`);
  }

  for (const [id, want] of Object.entries(expected.steps)) {
    const record = records.get(id)!;
    // Where the record is: the run's step journal on stores with atomic appends, else its own object.
    const key = store.atomicAppend ? journalKeys.stepJournal(runId) : journalKeys.step(runId, id);
    if (record.status !== want.status) {
      fail(`step "${id}" is "${record.status}" in ${key}, expected "${want.status}"${record.error ? ` (error: ${record.error.message})` : ""}.`);
    }
    if (want.attempts !== undefined && record.attempts !== want.attempts) {
      fail(`step "${id}" recorded ${record.attempts} attempt(s) in ${key}, expected ${want.attempts} (retry policy: ${JSON.stringify(snapshot.steps[id]?.settings.retry)}).`);
    }
    if (want.errorIncludes !== undefined && !record.error?.message.includes(want.errorIncludes)) {
      fail(`step "${id}" should record an error containing "${want.errorIncludes}", got ${record.error ? `"${record.error.message}"` : "none"}.`);
    }
    if (EXECUTED.has(record.status) && (!record.startedAt || !record.finishedAt)) {
      fail(`step "${id}" (${record.status}) has no ${record.startedAt ? "finishedAt" : "startedAt"} in ${key}.`);
    }
    if (record.status === "succeeded" || record.status === "cached") {
      const step = snapshot.steps[id]!;
      for (const output of step.outputs) {
        if (!record.outputs[output]) fail(`step "${id}" succeeded but ${key} has no output "${output}".`);
      }
      if ("value" in want) {
        const output = record.outputs[step.outputs[0]!]!;
        let value: unknown;
        try {
          value = await loadArtifact(store, output.artifactId, output.materializer);
        } catch (error) {
          fail(`the output of step "${id}" (artifact ${output.artifactId}) cannot be loaded: ${describeError(error)}`);
        }
        if (!isDeepStrictEqual(value, want.value)) fail(`step "${id}" output is ${JSON.stringify(value)}, expected ${JSON.stringify(want.value)}.`);
      }
    }
    if (record.status === "succeeded" && (expected.logs ?? true)) {
      const log = await store.read(journalKeys.log(runId, id));
      const text = log ? Buffer.from(log).toString("utf8") : "";
      if (!text.includes(`${LOG_MARKER} ${id} ran`)) {
        fail(`the log of step "${id}" (${journalKeys.log(runId, id)}) ${log ? "does not contain the line the step logged" : "is missing"}; step logs must reach the artifact store.`);
      }
    }
  }

  // Topological order: a step may start only after each of its upstream steps has finished.
  for (const [id, record] of records) {
    if (!EXECUTED.has(record.status) || !record.startedAt) continue;
    const started = Date.parse(record.startedAt);
    for (const upstreamId of snapshot.steps[id]?.upstream ?? []) {
      const upstream = records.get(upstreamId);
      if (!upstream?.finishedAt || (upstream.status !== "succeeded" && upstream.status !== "cached")) {
        fail(`step "${id}" ran although its upstream step "${upstreamId}" ${upstream ? `is "${upstream.status}"` : "has no record"}; a step may only start after all its upstream steps succeeded.`);
      }
      if (Date.parse(upstream!.finishedAt!) > started) {
        fail(`step "${id}" started at ${record.startedAt}, before its upstream step "${upstreamId}" finished at ${upstream!.finishedAt}; steps must run in topological order.`);
      }
    }
    if (Date.parse(run.startedAt) > started) fail(`step "${id}" started at ${record.startedAt}, before the run started at ${run.startedAt}.`);
    if (record.finishedAt && Date.parse(record.finishedAt) > Date.parse(run.finishedAt!)) {
      fail(`step "${id}" finished at ${record.finishedAt}, after the run was marked finished at ${run.finishedAt}.`);
    }
  }
  return { run, snapshot, steps: records };
}

async function stepSummary(store: ArtifactStore, runId: string): Promise<string> {
  const records = await readStepRecords(store, runId).catch(() => []);
  if (records.length === 0) return "";
  return ` Steps: ${records.map((r) => `${r.stepId}=${r.status}${r.error ? ` (${r.error.message.split("\n")[0]})` : ""}`).join(", ")}.`;
}
