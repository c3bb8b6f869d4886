import { OrchError } from "../errors.js";
import { assertValidName } from "../names.js";
import { callerFile } from "../project.js";
import { parseStepSettings, type StepSettingsInput, type StepSettingsOverrides } from "./settings.js";
import type { StepContext } from "../run/step-context.js";
import { currentBuilder } from "./builder.js";
import { stepCodeHash } from "./code-hash.js";
import type { StepArgs, StepOutput } from "./step-output.js";
import type { Loaded } from "../artifacts/streamed.js";

export type StepHook<R> = (context: StepContext, output: R) => void | Promise<void>;
export type FailureHook = (context: StepContext, error: unknown) => void | Promise<void>;

export interface StepOptions<O extends readonly string[]> extends StepSettingsInput {
  /** Step name; matches `^[A-Za-z_][A-Za-z0-9_-]{0,62}$`. Invocation ids derive from it. */
  name: string;
  /** Names of several outputs: the function then returns an object with these keys. */
  outputs?: O;
  /** Runs after a successful attempt, with the step's return value. A failing hook is logged. */
  onSuccess?: StepHook<any>;
  /** Runs once the step has failed for good (after retries). A failing hook is logged. */
  onFailure?: FailureHook;
}

/** What calling a step returns inside a pipeline: one handle, or one per declared output. */
export type StepOutputs<R, O extends readonly string[]> = [O] extends [never]
  ? StepOutput<Loaded<R>>
  : // A declared output missing from R (only with the definition's type error suppressed) is typed
    // `unknown`, which fits no typed parameter, rather than `never`, which would fit every one.
    { [K in O[number]]: StepOutput<K extends keyof R ? Loaded<R[K]> : unknown> };

/** Declared output names that the function's return type does not have (e.g. a typo: "tset"). */
export type MissingOutputs<R, O extends readonly string[]> = [O] extends [never] ? never : Exclude<O[number], keyof R>;
/**
 * An extra, impossible argument when an output is declared but not returned: `step()` then fails to
 * type-check at the definition ("An argument for 'declaredOutputNotReturnedByTheFunction' was not
 * provided"), instead of giving a handle typed `never` that type-checks anywhere.
 */
export type OutputCheck<R, O extends readonly string[]> = [MissingOutputs<R, O>] extends [never]
  ? []
  : [declaredOutputNotReturnedByTheFunction: MissingOutputs<R, O>];

/** Per-invocation options: an explicit id, ordering without data, settings for this call only. */
export interface InvocationOptions extends StepSettingsOverrides {
  id?: string;
  after?: StepOutput<unknown> | StepOutput<unknown>[] | Record<string, StepOutput<unknown>>;
}

export interface StepDefinition<A extends unknown[] = any[], R = any, O extends readonly string[] = any> {
  (...args: StepArgs<A>): StepOutputs<R, O>;
  readonly kind: "step";
  readonly name: string;
  /** The user's function, callable directly (in unit tests, say). */
  readonly fn: (...args: A) => R | Promise<R>;
  readonly outputNames: readonly string[];
  readonly settings: ReturnType<typeof parseStepSettings>;
  /** Hash of the code the step runs (its module graph, see code-hash.ts); computed on first use. */
  readonly codeHash: string;
  /** Absolute path or URL of the module that defined the step. */
  readonly sourceFile: string | undefined;
  readonly onSuccess?: StepHook<any>;
  readonly onFailure?: FailureHook;
  /** A copy of this step bound to invocation options: `train.with({ id: "train_big" })(data)`. */
  with(options: InvocationOptions): (...args: StepArgs<A>) => StepOutputs<R, O>;
}

/** Steps by defining module and name, so `orch-entrypoint` can find a step after importing its module. */
const stepsBySource = new Map<string, StepDefinition>();

export function registeredStep(sourceFile: string, name: string): StepDefinition | undefined {
  return stepsBySource.get(`${sourceFile}#${name}`);
}

/**
 * The one step registered under `name` from any module, for bundled code (a bundler may move a
 * step's definition into a shared chunk). Undefined when none or several share the name.
 */
export function uniqueStepNamed(name: string): StepDefinition | undefined {
  const found = [...stepsBySource.values()].filter((step) => step.name === name);
  return found.length === 1 ? found[0] : undefined;
}

/** A step's own options next to its settings (StepOptions minus StepSettingsInput). */
const STEP_OPTIONS = ["name", "outputs", "onSuccess", "onFailure"] as const satisfies readonly Exclude<keyof StepOptions<[]>, keyof StepSettingsInput>[];

/**
 * Declares a step. Called inside a pipeline function it records an invocation and returns typed
 * handles; it never runs the function there.
 *
 * @example
 * const train = step({ name: "train", resources: { memory: "4GB" } }, (data: Dataset, trees: number) => fit(data, trees));
 */
export function step<A extends unknown[], R, const O extends readonly string[] = never>(
  options: StepOptions<O>,
  fn: (...args: A) => R | Promise<R>,
  ..._outputCheck: OutputCheck<Awaited<R>, O>
): StepDefinition<A, Awaited<R>, O> {
  assertValidName("step", options.name);
  const outputNames = options.outputs ? [...options.outputs] : ["output"];
  for (const output of outputNames) assertValidName(`output of step "${options.name}"`, output);
  if (new Set(outputNames).size !== outputNames.length) {
    throw new OrchError("E_COMPILE", { step: options.name, message: `Step "${options.name}" declares an output name twice.`, hint: "Give each output a distinct name." });
  }
  const settings = parseStepSettings(options as unknown as Record<string, unknown>, `step "${options.name}"`, STEP_OPTIONS);
  const sourceFile = callerFile();

  const invoke = (invocation: InvocationOptions, args: unknown[]): unknown => {
    const builder = currentBuilder();
    if (!builder) {
      throw new OrchError("E_COMPILE", {
        step: options.name,
        message: `Step "${options.name}" was called outside a pipeline function.`,
        hint: `Call steps inside pipeline(...); to run the function directly (e.g. in a unit test) use ${options.name}.fn(...).`,
      });
    }
    return builder.invoke(definition as unknown as StepDefinition, args, invocation);
  };

  const definition = Object.assign((...args: unknown[]): unknown => invoke({}, args), {
    kind: "step" as const,
    fn,
    outputNames,
    settings,
    sourceFile,
    onSuccess: options.onSuccess,
    onFailure: options.onFailure,
    with: (invocation: InvocationOptions) => (...args: unknown[]): unknown => invoke(invocation, args),
  });
  // `name` of a function object is read-only; define it to be the step name.
  Object.defineProperty(definition, "name", { value: options.name });
  // Hashing reads the module graph, so it waits for the first compile (the module is still loading now).
  let codeHash: string | undefined;
  Object.defineProperty(definition, "codeHash", {
    enumerable: true,
    get: () => (codeHash ??= stepCodeHash({ name: options.name, fn: fn as (...args: never[]) => unknown, sourceFile, cacheVersion: options.cacheVersion })),
  });
  if (sourceFile) stepsBySource.set(`${sourceFile}#${options.name}`, definition as unknown as StepDefinition);
  return definition as unknown as StepDefinition<A, Awaited<R>, O>;
}

export function isStepDefinition(value: unknown): value is StepDefinition {
  return typeof value === "function" && (value as { kind?: unknown }).kind === "step";
}
