import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { pipeline } from "./pipeline.js";
import { step } from "./step.js";
import type { StepOutput } from "./step-output.js";
import type { RunResult } from "../run/run-pipeline.js";
import { Readable } from "node:stream";
import { artifactFile, artifactStream, type StreamedArtifact } from "../artifacts/streamed.js";

const loadText = step({ name: "load_text" }, () => "hello");
const loadCount = step({ name: "load_count" }, async () => 3);
const repeat = step({ name: "repeat" }, (text: string, times: number) => text.repeat(times));
const split = step({ name: "split", outputs: ["train", "test"] }, () => ({ train: [1, 2], test: "x" }));

describe("typed DSL", () => {
  it("returns a handle typed by the step's (awaited) return value", () => {
    pipeline({ name: "t1" }, () => {
      expectTypeOf(loadText()).toEqualTypeOf<StepOutput<string>>();
      expectTypeOf(loadCount()).toEqualTypeOf<StepOutput<number>>();
    });
  });

  it("accepts handles and literals of the parameter type", () => {
    pipeline({ name: "t2" }, () => {
      repeat(loadText(), loadCount());
      repeat("literal", 2);
    });
  });

  it("rejects a StepOutput<string> where a number is expected", () => {
    pipeline({ name: "t3" }, () => {
      // @ts-expect-error — a string output cannot feed a number parameter
      repeat(loadText(), loadText());
      // @ts-expect-error — nor can a string literal
      repeat("a", "b");
    });
  });

  it("types each declared output of a multi-output step", () => {
    pipeline({ name: "t4" }, () => {
      const parts = split();
      expectTypeOf(parts.train).toEqualTypeOf<StepOutput<number[]>>();
      expectTypeOf(parts.test).toEqualTypeOf<StepOutput<string>>();
      // @ts-expect-error — no output of that name
      void parts.validation;
    });
  });

  it("infers pipeline parameters from a zod schema, with defaults optional at run", () => {
    const p = pipeline({ name: "t5", params: z.object({ times: z.number().default(2) }) }, (params) => {
      expectTypeOf(params.times).toEqualTypeOf<number>();
      repeat(loadText(), params.times);
    });
    expectTypeOf(p.run).parameter(0).toEqualTypeOf<import("../run/run-pipeline.js").RunOptions<{ times?: number | undefined }> | undefined>();
  });

  it("loads typed values from a run result", () => {
    const load = (result: RunResult) => result.load(repeat);
    expectTypeOf(load).returns.resolves.toEqualTypeOf<string>();
  });
});

describe("type holes", () => {
  it("refuses a declared output the function does not return (a typo), at the step definition", () => {
    // @ts-expect-error — "tset" is not a key of the returned object
    step({ name: "typo", outputs: ["train", "tset"] }, () => ({ train: [1], test: [2] }));
    // @ts-expect-error — a function returning a number has no "model" output
    step({ name: "not_object", outputs: ["model"] }, async () => 5);
    step({ name: "optional_ok", outputs: ["a", "b"] }, (): { a: number; b?: string } => ({ a: 1 }));
    // @ts-expect-error — the same typo; even with the error suppressed, its handle fits no typed parameter
    const typo = step({ name: "typo_2", outputs: ["train", "tset"] }, () => ({ train: [1], test: "x" }));
    pipeline({ name: "t6" }, () => {
      const parts = typo();
      // @ts-expect-error — the missing output's handle is StepOutput<unknown>, not StepOutput<never>
      repeat(parts.tset, 2);
      expectTypeOf(parts.train).toEqualTypeOf<StepOutput<number[]>>();
    });
    step({ name: "async_ok", outputs: ["a"] }, async () => ({ a: 1 }));
  });

  it("refuses a handle of another type for an object parameter, and still accepts values", () => {
    const takesObject = step({ name: "takes_object" }, (o: object) => Object.keys(o).length);
    const takesRecord = step({ name: "takes_record" }, (r: Record<string, unknown>) => r);
    const takesWeak = step({ name: "takes_weak" }, (w: { limit?: number }) => w.limit);
    const takesModel = step({ name: "takes_model" }, (m: Map<string, number>) => m.size);
    pipeline({ name: "t7" }, () => {
      // @ts-expect-error — a number output is not an object
      takesObject(loadCount());
      // @ts-expect-error — nor a record
      takesRecord(loadCount());
      // @ts-expect-error — nor an object with optional fields only
      takesWeak(loadCount());
      takesObject(split().train);
      takesObject({ any: "literal" });
      takesObject([1, 2]);
      takesRecord({ a: 1 });
      takesWeak({ limit: 3 });
      takesWeak({});
      takesModel(new Map([["a", 1]]));
    });
  });
});

describe("streamed outputs", () => {
  const file = step({ name: "file" }, () => artifactFile("/tmp/x"));
  const gen = step({ name: "gen" }, () => (async function* () { yield Buffer.from("x"); })());
  const parts = step({ name: "parts", outputs: ["big", "n"] }, () => ({ big: artifactStream(Readable.from([])), n: 1 }));
  const takesHandle = step({ name: "takes_handle" }, (a: StreamedArtifact) => a.size);

  it("types what the stream materializer saves as a StreamedArtifact handle downstream and on load", async () => {
    pipeline({ name: "t_stream" }, () => {
      expectTypeOf(file()).toEqualTypeOf<StepOutput<StreamedArtifact>>();
      expectTypeOf(gen()).toEqualTypeOf<StepOutput<StreamedArtifact>>();
      expectTypeOf(parts().big).toEqualTypeOf<StepOutput<StreamedArtifact>>();
      expectTypeOf(parts().n).toEqualTypeOf<StepOutput<number>>();
      takesHandle(file());
      // @ts-expect-error — a handle is not a Buffer
      repeat(file(), 1);
    });
    const result = {} as RunResult;
    expectTypeOf(result.load(file)).toEqualTypeOf<Promise<StreamedArtifact>>();
  });
});
