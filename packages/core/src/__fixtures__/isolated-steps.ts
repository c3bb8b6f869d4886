// Steps that run in worker threads (steps with a timeout are isolated): they must live in a module file.
import { appendFileSync } from "node:fs";
import { artifactStream, getStepContext, pipeline, step, type StreamedArtifact } from "../index.js";

const busyFor = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // synchronous CPU work: nothing else runs on this thread meanwhile
  }
};

/** 3 s of synchronous work against a 1 s timeout; retried once. */
export const busy = step({ name: "busy", timeout: 1, retry: { maxRetries: 1, delay: 0 }, cache: false }, () => {
  if (process.env.ORCH_TEST_TRACE) appendFileSync(process.env.ORCH_TEST_TRACE, `busy ${getStepContext().attempt}\n`);
  busyFor(3_000);
  return "finished";
});
export const busyPipeline = pipeline({ name: "busy_pipeline" }, () => void busy());

/** Never ends by itself. */
export const spin = step({ name: "spin", timeout: 1, cache: false }, () => {
  for (;;) {
    // spin
  }
});
export const spinPipeline = pipeline({ name: "spin_pipeline" }, () => void spin());

/** Quick work with a timeout: runs isolated and passes values through the artifact store both ways. */
export const double = step({ name: "double", timeout: 30, cache: false }, (xs: number[]) => {
  console.log(`doubling ${xs.length} values`);
  getStepContext().logger.info("via the logger");
  getStepContext().addMetadata({ isolated: true });
  return xs.map((x) => x * 2);
});
export const numbers = step({ name: "numbers", cache: false }, () => [1, 2, 3]);
export const doublePipeline = pipeline({ name: "double_pipeline" }, () => void double(numbers()));

/** A dynamic pipeline whose isolated step is discovered at run time. */
export const dynamicDoubling = pipeline({ name: "dynamic_doubling", dynamic: true }, async () => {
  const doubled = await double(numbers()).load();
  if (doubled.length !== 3) throw new Error("unexpected");
});

/** Fails its first attempt, succeeds on the retry (each attempt is a fresh worker). */
export const flaky = step({ name: "flaky", timeout: 30, retry: { maxRetries: 1, delay: 0 }, cache: false }, () => {
  if (getStepContext().attempt === 1) throw new Error("first attempt fails");
  return "second attempt";
});
export const flakyPipeline = pipeline({ name: "flaky_pipeline" }, () => void flaky());

/** Exits its worker instead of returning. */
export const quitter = step({ name: "quitter", timeout: 30, cache: false }, () => process.exit(3));
export const quitterPipeline = pipeline({ name: "quitter_pipeline" }, () => void quitter());

/** Streamed artifacts across worker threads: produced in one isolated step, read in another. */
export const streamOut = step({ name: "stream_out", timeout: 60, cache: false }, () =>
  artifactStream(
    (async function* () {
      for (let i = 0; i < 8; i++) yield Buffer.alloc(1024 * 1024, i);
    })(),
  ),
);
export const streamIn = step({ name: "stream_in", timeout: 60, cache: false }, async (big: StreamedArtifact) => {
  let size = 0;
  for await (const chunk of big.stream()) size += (chunk as Buffer).byteLength;
  return { size, declared: big.size };
});
export const streamPipeline = pipeline({ name: "stream_pipeline" }, () => void streamIn(streamOut()));
