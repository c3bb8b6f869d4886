import { AsyncLocalStorage } from "node:async_hooks";

/** Receives what a running step writes to stdout/stderr (console.log, console.error, process.stdout.write …). */
export type OutputSink = (stream: "stdout" | "stderr", text: string) => void;

/**
 * Where a step's own output is shown besides its log: `same` (stdout stays stdout), or `stderr` (all of
 * it on stderr, so that a host printing JSON on stdout — `orch … --json` — keeps stdout clean).
 */
export type StepOutputRoute = "same" | "stderr";

const sinks = new AsyncLocalStorage<OutputSink>();
let installed = false;
let route: StepOutputRoute = "same";
const originals = { stdout: process.stdout.write, stderr: process.stderr.write };

/** Chooses where steps' output is shown (it always lands in the step's log too). */
export function setStepOutputRoute(value: StepOutputRoute): void {
  route = value;
}

/**
 * Runs `fn` with its stdout/stderr writes also sent to `sink`. Parallel steps each see their own sink
 * (AsyncLocalStorage follows the step's async work); writes outside any step go through unchanged,
 * and writes inside a step are still shown (see StepOutputRoute).
 */
export function runWithOutputCapture<T>(sink: OutputSink, fn: () => T): T {
  installCapture();
  return sinks.run(sink, fn);
}

/** Runs `fn` outside any capture (orch's own output about a step must not land in that step's log twice). */
export function withoutCapture<T>(fn: () => T): T {
  return sinks.exit(fn);
}

/** Shows output a step produced elsewhere (its worker thread) as if it had been written here. */
export function showStepOutput(stream: "stdout" | "stderr", text: string): void {
  const target = route === "stderr" ? "stderr" : stream;
  withoutCapture(() => (originals[target] as (text: string) => boolean).call(process[target], text));
}

function installCapture(): void {
  if (installed) return;
  installed = true;
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    const original = stream.write;
    originals[name] = original;
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
        if (route === "stderr" && name === "stdout") return (originals.stderr as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
  }
}
