import { createHash, randomFillSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compilePipeline } from "../snapshot/compile.js";
import { executeRun } from "../run/execute-run.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys, readStepRecord } from "../store/journal.js";
import { runIn, tempDir } from "../__fixtures__/test-stack.js";
import { streamIn, streamPipeline } from "../__fixtures__/isolated-steps.js";
import { findProjectRoot } from "../project.js";
import { checkArtifact, loadOutput, saveArtifact } from "./artifact-io.js";
import { defineClassMaterializer, registerMaterializer } from "./materializers.js";
import { artifactFile, artifactStream, StreamedArtifact } from "./streamed.js";

const MiB = 1024 * 1024;
const where = { runId: "r1", stepId: "s", output: "output" };

/** `mib` MiB of fresh random chunks (a new buffer each, as real generated data would be), hashed as they go. */
function generated(mib: number, expected: { hash?: string }): AsyncGenerator<Buffer> {
  return (async function* () {
    const hash = createHash("sha256");
    for (let i = 0; i < mib; i++) {
      const chunk = randomFillSync(Buffer.allocUnsafe(MiB));
      hash.update(chunk);
      yield chunk;
    }
    expected.hash = hash.digest("hex");
  })();
}

async function digestOf(source: Readable): Promise<{ size: number; hash: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { size, hash: hash.digest("hex") };
}

/** Peak RSS growth over the baseline while `work` runs, sampled every 10 ms. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growthMb: (peak - baseline) / MiB };
  } finally {
    clearInterval(timer);
  }
}

describe("streamed artifacts in a pipeline (local store)", () => {
  it("saves and loads a 512 MiB generated artifact with bounded memory; a second run is a cache hit", async () => {
    const dir = tempDir();
    const expected: { hash?: string } = {};
    let produced = 0;
    const produce = step({ name: "produce" }, () => {
      produced++;
      return artifactStream(generated(512, expected));
    });
    const consume = step({ name: "consume" }, async (big: StreamedArtifact) => {
      expect(big).toBeInstanceOf(StreamedArtifact);
      return digestOf(big.stream());
    });
    const p = pipeline({ name: "big_stream" }, () => void consume(produce()));

    const { result, growthMb } = await peakRssGrowth(() => p.run(runIn(dir)));
    console.info(`[streamed artifacts] local store, 512 MiB save+load: peak RSS growth ${growthMb.toFixed(1)} MB`);
    expect(result.status).toBe("succeeded");
    const digest = await result.load(consume);
    expect(digest).toEqual({ size: 512 * MiB, hash: expected.hash });
    // Recorded exactly as for whole values: size and content hash in the step record's output record.
    const record = result.step("produce")!.outputs.output!;
    expect(record).toMatchObject({ materializer: "stream", contentHash: expected.hash, size: 512 * MiB });
    expect(statSync(join(dir, "artifacts", journalKeys.artifactData(record.artifactId))).size).toBe(512 * MiB);
    expect(growthMb).toBeLessThan(200);

    const again = await p.run(runIn(dir));
    expect(again.steps.map((s) => s.status)).toEqual(["cached", "cached"]);
    expect(produced).toBe(1);
  }, 120_000);

  it("a failing stream source leaves no artifact; the step is retried per its policy and fails", async () => {
    const dir = tempDir();
    let attempts = 0;
    const produce = step({ name: "produce", retry: { maxRetries: 1 } }, () => {
      attempts++;
      return artifactStream(
        (async function* () {
          yield Buffer.alloc(MiB, 1);
          yield Buffer.alloc(MiB, 2);
          throw new Error("sensor unplugged");
        })(),
      );
    });
    const result = await pipeline({ name: "broken_stream" }, () => void produce()).run(runIn(dir));
    expect(result.status).toBe("failed");
    expect(attempts).toBe(2);
    expect(result.step("produce")).toMatchObject({ status: "failed", attempts: 2, error: { code: "E_ARTIFACT_STREAM", message: expect.stringMatching(/"produce" output "output".*sensor unplugged/) } });
    const artifacts = join(dir, "artifacts", "artifacts");
    expect(existsSync(artifacts) ? readdirSync(artifacts) : []).toEqual([]);
  });

  it("resume keeps a streamed artifact and the next step reads it", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const calls: string[] = [];
    let gateOpen = false;
    const produce = step({ name: "produce", cache: false }, () => {
      calls.push("produce");
      return artifactStream(Readable.from([Buffer.from("hello "), Buffer.from("streams")]));
    });
    const consume = step({ name: "consume", cache: false }, async (big: StreamedArtifact) => {
      calls.push("consume");
      if (!gateOpen) throw new Error("gate closed");
      return (await big.bytes()).toString();
    });
    const definition = pipeline({ name: "resume_stream" }, () => void consume(produce()));
    const { snapshot, definitions } = compilePipeline(definition, {}, { projectRoot: dir });
    const execute = (resume: boolean) => executeRun({ snapshot, runId: "run1", store, resume, projectRoot: dir, definitions });

    expect((await execute(false)).run.status).toBe("failed");
    gateOpen = true;
    expect((await execute(true)).run.status).toBe("succeeded");
    expect(calls).toEqual(["produce", "consume", "consume"]);
    const consumed = await readStepRecord(store, "run1", "consume");
    expect(await loadOutput(store, consumed!.outputs.output!)).toBe("hello streams");
  });

  it("stores a file returned with artifactFile(); the next step copies it with toFile()", async () => {
    const dir = tempDir();
    const source = join(dir, "model.bin");
    const bytes = randomFillSync(Buffer.alloc(3 * MiB + 7));
    writeFileSync(source, bytes);
    const produce = step({ name: "produce" }, () => artifactFile(source));
    const copy = step({ name: "copy" }, async (model: StreamedArtifact) => ({ path: await model.toFile(join(dir, "out", "copy.bin")), size: model.size }));
    const result = await pipeline({ name: "file_artifact" }, () => void copy(produce())).run(runIn(dir));
    expect(result.status).toBe("succeeded");
    const { path, size } = await result.load(copy);
    expect(size).toBe(bytes.byteLength);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(join(dir, "out"))).toEqual(["copy.bin"]); // no temp file left
  });

  it("fails the step with the path when artifactFile() names a missing file", async () => {
    const dir = tempDir();
    const produce = step({ name: "produce" }, () => artifactFile(join(dir, "nope.bin")));
    const result = await pipeline({ name: "missing_file" }, () => void produce()).run(runIn(dir));
    expect(result.step("produce")).toMatchObject({ status: "failed", error: { code: "E_ARTIFACT_STREAM", message: expect.stringContaining("nope.bin") } });
  });
});

describe("streamed artifacts in isolated steps (worker threads)", () => {
  it("streams out of one worker and into the next", async () => {
    const dir = tempDir();
    const result = await streamPipeline.run({ ...runIn(dir), projectRoot: findProjectRoot() });
    expect(result.status).toBe("succeeded");
    expect(await result.load(streamIn)).toEqual({ size: 8 * MiB, declared: 8 * MiB });
    const log = readFileSync(join(dir, "artifacts/runs", result.runId, "logs", "stream_in.log"), "utf8");
    expect(log).not.toMatch(/running in-process/); // it really ran in a worker
  });
});

describe("the stream materializer", () => {
  async function saved(value: unknown) {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const output = await saveArtifact(store, value, where);
    return { store, output, file: join(dir, journalKeys.artifactData(output.artifactId)) };
  }

  it("takes a Readable, an async iterable of strings and an empty stream as they are", async () => {
    const readable = await saved(Readable.from([Buffer.from("ab"), Buffer.from("c")]));
    expect(readable.output.materializer).toBe("stream");
    const handle = await loadOutput<StreamedArtifact>(readable.store, readable.output);
    expect(handle.size).toBe(3);
    // Logged or serialized, a handle shows the artifact, not the store behind it.
    expect(JSON.parse(JSON.stringify(handle))).toEqual({ artifactId: readable.output.artifactId, size: 3, contentHash: readable.output.contentHash });
    expect(inspect(handle)).toBe(`StreamedArtifact ${JSON.stringify(handle)}`);

    const strings = await saved(
      (async function* () {
        yield "héllo ";
        yield "wörld";
      })(),
    );
    expect((await (await loadOutput<StreamedArtifact>(strings.store, strings.output)).bytes()).toString()).toBe("héllo wörld");
    expect(strings.output.contentHash).toBe(createHash("sha256").update("héllo wörld").digest("hex"));

    const empty = await saved(Readable.from([]));
    const loaded = await loadOutput<StreamedArtifact>(empty.store, empty.output);
    expect(loaded.size).toBe(0);
    expect((await loaded.bytes()).byteLength).toBe(0);
  });

  it("refuses chunks that are not bytes, naming the output", async () => {
    await expect(saved(Readable.from([1, 2, 3]))).rejects.toMatchObject({ code: "E_MATERIALIZER", message: expect.stringMatching(/output "output".*not bytes/) });
  });

  it("detects a damaged streamed artifact: checks fail, and reading it fails with E_ARTIFACT_CORRUPT", async () => {
    const { store, output, file } = await saved(artifactStream(Readable.from([Buffer.from("0123456789")])));
    expect(await checkArtifact(store, output)).toEqual({ ok: true });
    writeFileSync(file, "0123456780");
    expect(await checkArtifact(store, output)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match the content hash/) });
    const handle = await loadOutput<StreamedArtifact>(store, output);
    await expect(handle.bytes()).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT" });
    writeFileSync(file, "0123");
    await expect(loadOutput(store, output)).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT", message: expect.stringMatching(/4 bytes, but 10 were saved/) });
    rmSync(file);
    await expect(loadOutput(store, output)).rejects.toMatchObject({ code: "E_ARTIFACT_NOT_FOUND" });
  });

  it("lets a class materializer stream with saveStream/loadStream", async () => {
    class Corpus {
      constructor(readonly lines: string[]) {}
    }
    registerMaterializer(
      defineClassMaterializer(Corpus, {
        id: "test-corpus-stream",
        saveStream: (corpus) => Readable.from(corpus.lines.map((line) => `${line}\n`)),
        loadStream: async (artifact) => new Corpus((await artifact.bytes()).toString().split("\n").slice(0, -1)),
      }),
    );
    const { store, output } = await saved(new Corpus(["a", "b"]));
    expect(output.materializer).toBe("test-corpus-stream");
    const loaded = await loadOutput<Corpus>(store, output);
    expect(loaded).toBeInstanceOf(Corpus);
    expect(loaded.lines).toEqual(["a", "b"]);
  });

  it("refuses a materializer without a save or a load", () => {
    expect(() => defineClassMaterializer(class {}, { id: "half", save: () => "" })).toThrow(/no load or loadStream/);
  });
});
