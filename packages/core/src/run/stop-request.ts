/**
 * The stop protocol of processes that run a step or a whole run somewhere else (a container, a pod).
 *
 * Such a process gets SIGTERM for two very different reasons: the user ran `orch run stop`, or the
 * platform is shutting the process down (`kubectl delete pod`, a node drain, an eviction, a
 * preemption). Only the first may end the run. So a stop is *requested* first, in the run's journal
 * (`runs/<runId>/stop-requested.json`), and only then are the processes signalled: a process that
 * gets SIGTERM checks the journal, stops the run when the request is there, and otherwise exits with
 * {@link EXIT_SHUTDOWN} and leaves everything it started running, so a replacement process resumes
 * the run and adopts its running steps.
 */
import { hostname } from "node:os";
import { OrchError } from "../errors.js";
import { readJson, writeJson, type ArtifactStore } from "../store/artifact-store.js";
import { journalKeys } from "../store/journal.js";

/** Exit code of orch-entrypoint shut down by SIGTERM without a stop request: retriable, the run goes on. */
export const EXIT_SHUTDOWN = 143;
/** Exit code of orch-entrypoint stopped by `orch run stop` (or Ctrl-C): final. */
export const EXIT_STOPPED = 130;

export interface StopRequest {
  runId: string;
  requestedAt: string;
  /** Who asked (host and pid of the `orch run stop` process), for the record. */
  host: string;
  pid: number;
}

/** Records that the user asked run `runId` to stop; call it before signalling any of the run's processes. */
export async function requestRunStop(store: ArtifactStore, runId: string): Promise<void> {
  const request: StopRequest = { runId, requestedAt: new Date().toISOString(), host: hostname(), pid: process.pid };
  await writeJson(store, journalKeys.stopRequest(runId), request);
}

/** The stop request of a run, if the user asked it to stop. */
export function readStopRequest(store: ArtifactStore, runId: string): Promise<StopRequest | undefined> {
  return readJson<StopRequest>(store, journalKeys.stopRequest(runId));
}

/** Forgets a stop request (a resumed run may run again). */
export async function clearStopRequest(store: ArtifactStore, runId: string): Promise<void> {
  await store.delete(journalKeys.stopRequest(runId));
}

export interface TerminationWatch {
  /** Resolves with {@link EXIT_SHUTDOWN} when the process got SIGTERM without a stop request. */
  shutdown: Promise<number>;
  dispose(): void;
}

/**
 * Handles SIGINT and SIGTERM for a process working on run `runId`: SIGINT (Ctrl-C) always stops the
 * run through `controller`; SIGTERM stops it only when a stop was requested in the journal, and
 * otherwise resolves `shutdown` so the caller can exit at once without recording anything final.
 */
export function watchTermination(options: { store: ArtifactStore; runId: string; controller: AbortController; log?: (line: string) => void }): TerminationWatch {
  const { store, runId, controller } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let resolveShutdown!: (code: number) => void;
  const shutdown = new Promise<number>((resolve) => (resolveShutdown = resolve));
  const stop = (why: string) => controller.abort(new OrchError("E_CANCELLED", { message: `Run ${runId} was stopped (${why}).` }));
  const onInt = () => stop("SIGINT");
  const onTerm = () => {
    void readStopRequest(store, runId).then(
      (request) => {
        if (request) return stop(`orch run stop at ${request.requestedAt}`);
        log(`[orch] SIGTERM without a stop request for run ${runId}: shutting down (exit ${EXIT_SHUTDOWN}); the run goes on and a replacement resumes it`);
        resolveShutdown(EXIT_SHUTDOWN);
      },
      // The journal cannot be read: a shutdown is the safe reading (nothing is deleted, the run can resume).
      () => resolveShutdown(EXIT_SHUTDOWN),
    );
  };
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return {
    shutdown,
    dispose() {
      process.removeListener("SIGINT", onInt);
      process.removeListener("SIGTERM", onTerm);
    },
  };
}
