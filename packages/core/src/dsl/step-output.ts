import { OrchError } from "../errors.js";

/** Type-only brand of handles (no runtime value): lets `Arg<T>` tell a handle from a plain value. */
export declare const stepOutputBrand: unique symbol;

/** Loads the value of a step output while a dynamic pipeline runs. */
export type OutputLoader = (stepId: string, output: string) => Promise<unknown>;

/**
 * What calling a step inside a pipeline returns: a typed reference to an output that does not exist
 * yet. Passing it to another step wires an edge; `load()` waits for the value (dynamic pipelines only).
 */
export class StepOutput<T> {
  /** Phantom field that carries T, so `StepOutput<string>` is not accepted where a number is expected. */
  declare readonly __valueType?: T;
  declare readonly [stepOutputBrand]: true;

  constructor(
    /** Invocation id of the producing step. */
    readonly step: string,
    /** Output name (`output` for steps with a single output). */
    readonly output: string,
    /** Identifies the pipeline compilation this handle belongs to. */
    readonly scope: object,
    private readonly loader?: OutputLoader,
  ) {}

  /** Waits for the producing step and loads its value. Only in `dynamic: true` pipelines. */
  load(): Promise<T> {
    if (!this.loader) {
      return Promise.reject(
        new OrchError("E_COMPILE", {
          step: this.step,
          message: `Cannot load the value of step "${this.step}" output "${this.output}" while compiling a static pipeline.`,
          hint: "Declare the pipeline with { dynamic: true } to branch or loop on step values at run time.",
        }),
      );
    }
    return this.loader(this.step, this.output) as Promise<T>;
  }

  toJSON(): never {
    throw new OrchError("E_COMPILE", {
      step: this.step,
      message: `The output of step "${this.step}" was used as a plain value (serialized) inside the pipeline function.`,
      hint: "Pass step outputs directly as step arguments; to use the value itself, make the pipeline dynamic and await .load().",
    });
  }
}

/** A plain value has no handle brand; so a `StepOutput<number>` is not taken for an `object` value. */
type NotAHandle = { readonly [stepOutputBrand]?: never };
/** For `object`-like types without known keys, an open shape keeps object literals free of excess-property errors. */
type OpenNotAHandle = NotAHandle & { readonly [key: string]: any };
type PlainValue<T> = T extends object ? ([keyof T] extends [never] ? T & OpenNotAHandle : T & NotAHandle) : T;

/** A step argument: the value itself or the output of another step producing it (of the same type). */
export type Arg<T> = PlainValue<T> | StepOutput<T>;
export type StepArgs<A extends unknown[]> = { [K in keyof A]: Arg<A[K]> };
