import { AsyncLocalStorage } from "node:async_hooks";

/** Receives what a running step writes to stdout/stderr (console.log, console.error, process.stdout.write …). */
export type OutputSink = (stream: "stdout" | "stderr", text: string) => void;

const sinks = new AsyncLocalStorage<OutputSink>();
let installed = false;

/**
 * Runs `fn` with its stdout/stderr writes also sent to `sink`. Parallel steps each see their own sink
 * (AsyncLocalStorage follows the step's async work); writes outside any step go through unchanged,
 * and writes inside a step still reach the terminal.
 */
export function runWithOutputCapture<T>(sink: OutputSink, fn: () => T): T {
  installCapture();
  return sinks.run(sink, fn);
}

/** Runs `fn` outside any capture (orch's own output about a step must not land in that step's log twice). */
export function withoutCapture<T>(fn: () => T): T {
  return sinks.exit(fn);
}

function installCapture(): void {
  if (installed) return;
  installed = true;
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    const original = stream.write;
    // NOTE: patching write (not console) also catches process.stdout.write and libraries' own loggers.
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const sink = sinks.getStore();
      if (sink) {
        const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
        try {
          sink(name, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(encoding));
        } catch {
          // a broken sink must never break the step's own output
        }
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
  }
}
