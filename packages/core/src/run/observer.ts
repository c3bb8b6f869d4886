import type { Snapshot } from "../snapshot/snapshot.js";
import type { RunRecord, StepRecord } from "../store/journal.js";

/**
 * Follows a run as it happens. The CLI's live view and the SQLite metadata index are observers;
 * an observer that throws is reported on stderr and does not affect the run.
 */
export interface RunObserver {
  runStarted?(run: RunRecord, snapshot: Snapshot): void | Promise<void>;
  stepUpdated?(record: StepRecord): void | Promise<void>;
  logLine?(stepId: string, line: string): void;
  runFinished?(run: RunRecord, steps: StepRecord[]): void | Promise<void>;
}

/** Fans one event out to several observers, isolating their failures from the run. */
export function combineObservers(observers: readonly (RunObserver | undefined)[]): Required<RunObserver> {
  const list = observers.filter((o): o is RunObserver => o !== undefined);
  const call = async (name: keyof RunObserver, args: unknown[]) => {
    for (const observer of list) {
      try {
        await (observer[name] as ((...a: unknown[]) => unknown) | undefined)?.(...args);
      } catch (error) {
        process.stderr.write(`[orch] run observer ${name} failed: ${(error as Error)?.message ?? error}\n`);
      }
    }
  };
  return {
    runStarted: (run, snapshot) => call("runStarted", [run, snapshot]),
    stepUpdated: (record) => call("stepUpdated", [record]),
    logLine: (stepId, line) => void call("logLine", [stepId, line]),
    runFinished: (run, steps) => call("runFinished", [run, steps]),
  };
}
