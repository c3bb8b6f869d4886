import type { ArtifactStore } from "../store/artifact-store.js";
import { journalKeys } from "../store/journal.js";
import { withoutCapture } from "./output-capture.js";
import type { StepLogger } from "./step-context.js";

type Level = "debug" | "info" | "warn" | "error";

/**
 * Writes a step's log lines to `runs/<runId>/logs/<stepId>.log`. Appends as it goes where the store
 * can append (local disk, so `orch run logs --follow` sees lines live); otherwise writes once at the end.
 * Holds the step logger's lines and what the step printed (console.log / console.error / process.stdout).
 */
export function createStepLog(store: ArtifactStore, runId: string, stepId: string, onLine?: (line: string) => void) {
  const key = journalKeys.log(runId, stepId);
  const buffered: string[] = [];
  let pending: Promise<void> = Promise.resolve();
  let closed = false;
  const partial = { stdout: "", stderr: "" };

  const append = (line: string) => {
    if (closed) return; // e.g. a timer the step left behind: it still prints, but the log is final
    if (store.append) {
      pending = pending.then(() => store.append!(key, `${line}\n`)).catch(() => {});
    } else {
      buffered.push(line);
    }
  };
  const write = (line: string) => {
    // The live view prints these lines; that write is orch's, not the step's output.
    if (onLine) withoutCapture(() => onLine(line));
    append(line);
  };
  const stamp = (tag: string, message: string) => `${new Date().toISOString()} ${tag.padEnd(5)} ${message}`;
  const log = (level: Level) => (message: string) => write(stamp(level.toUpperCase(), message));
  const logger: StepLogger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const outputTag = { stdout: "OUT", stderr: "ERR" } as const;

  return {
    logger,
    /** Raw output lines (e.g. a container's stdout) go in as they are. */
    writeRaw: write,
    /**
     * What the step printed, in chunks as written: complete lines go to the log file (tagged OUT / ERR),
     * a trailing partial line waits for its end. The terminal already showed them, so no `onLine`.
     */
    writeOutput(stream: "stdout" | "stderr", text: string) {
      const lines = (partial[stream] + text).split("\n");
      partial[stream] = lines.pop()!;
      for (const line of lines) append(stamp(outputTag[stream], line.replace(/\r$/, "")));
    },
    async flush(): Promise<void> {
      for (const stream of ["stdout", "stderr"] as const) {
        if (partial[stream]) append(stamp(outputTag[stream], partial[stream]));
        partial[stream] = "";
      }
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
    /** Flushes, then ignores later output: the step has ended. */
    async close(): Promise<void> {
      await this.flush();
      closed = true;
    },
  };
}

export type StepLog = ReturnType<typeof createStepLog>;
