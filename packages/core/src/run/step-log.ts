import type { ArtifactStore } from "../store/artifact-store.js";
import { journalKeys } from "../store/journal.js";
import type { StepLogger } from "./step-context.js";

type Level = "debug" | "info" | "warn" | "error";

/**
 * Writes a step's log lines to `runs/<runId>/logs/<stepId>.log`. Appends as it goes where the store
 * can append (local disk, so `orch run logs --follow` sees lines live); otherwise writes once at the end.
 */
export function createStepLog(store: ArtifactStore, runId: string, stepId: string, onLine?: (line: string) => void) {
  const key = journalKeys.log(runId, stepId);
  const buffered: string[] = [];
  let pending: Promise<void> = Promise.resolve();

  const write = (line: string) => {
    onLine?.(line);
    if (store.append) {
      pending = pending.then(() => store.append!(key, `${line}\n`)).catch(() => {});
    } else {
      buffered.push(line);
    }
  };
  const log = (level: Level) => (message: string) => write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`);
  const logger: StepLogger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };

  return {
    logger,
    /** Raw output lines (e.g. a container's stdout) go in as they are. */
    writeRaw: write,
    async flush(): Promise<void> {
      await pending;
      // Object stores buffer appends and rewrite the log periodically; this makes the tail durable.
      await store.flush?.(key);
      if (buffered.length > 0) {
        const existing = await store.read(key);
        const text = `${existing ? Buffer.from(existing).toString("utf8") : ""}${buffered.join("\n")}\n`;
        buffered.length = 0;
        await store.write(key, text);
      }
    },
  };
}
