import { AsyncLocalStorage } from "node:async_hooks";
import { OrchError } from "../errors.js";
import { assertValidName } from "../names.js";
import { findUnserializable } from "../artifacts/materializers.js";
import { mergeSettings, parseStepSettings, type MergedStepSettings, type ParsedStepSettings } from "./settings.js";
import { StepOutput, type OutputLoader } from "./step-output.js";
import type { InvocationOptions, StepDefinition } from "./step.js";

export type InputBinding =
  | { kind: "artifact"; step: string; output: string }
  | { kind: "param"; value: unknown }
  | { kind: "undefined" };

/** One call of a step inside a pipeline function. */
export interface Invocation {
  id: string;
  definition: StepDefinition;
  inputs: InputBinding[];
  upstream: string[];
  settings: MergedStepSettings;
}

const builderStorage = new AsyncLocalStorage<PipelineBuilder>();

export function currentBuilder(): PipelineBuilder | undefined {
  return builderStorage.getStore();
}

/**
 * Records the invocations of one pipeline function call. Static pipelines are recorded at compile
 * time; dynamic ones at run time, where `onInvoke` hands each invocation to the scheduler at once.
 */
export class PipelineBuilder {
  readonly invocations = new Map<string, Invocation>();
  private readonly callCounts = new Map<string, number>();
  private readonly mergedByStep = new Map<StepDefinition, MergedStepSettings>();

  constructor(
    readonly pipelineName: string,
    private readonly pipelineSettings: ParsedStepSettings | undefined,
    private readonly hooks: { onInvoke?: (invocation: Invocation) => void; loadOutput?: OutputLoader } = {},
  ) {}

  run<T>(fn: () => T): T {
    return builderStorage.run(this, fn);
  }

  invoke(definition: StepDefinition, args: unknown[], options: InvocationOptions): unknown {
    const id = options.id ?? this.nextId(definition.name);
    if (options.id !== undefined) assertValidName("step invocation id", options.id);
    if (this.invocations.has(id)) {
      throw new OrchError("E_COMPILE", {
        step: id,
        message: `Pipeline "${this.pipelineName}" has two step invocations with the id "${id}".`,
        hint: `Give each explicit id a distinct value: ${definition.name}.with({ id: "${id}_2" })(…).`,
      });
    }
    const upstream = new Set<string>();
    const inputs = args.map((arg, index) => this.bind(arg, { id, index, upstream }));
    for (const handle of afterHandles(options.after)) upstream.add(this.ownHandle(handle, id, "after").step);
    const invocation: Invocation = { id, definition, inputs, upstream: [...upstream], settings: this.settingsFor(definition, options) };
    this.invocations.set(id, invocation);
    this.hooks.onInvoke?.(invocation);
    const outputs = definition.outputNames.map((name) => new StepOutput(id, name, this, this.hooks.loadOutput));
    if (definition.outputNames.length === 1 && definition.outputNames[0] === "output") return outputs[0];
    return Object.fromEntries(outputs.map((o) => [o.output, o]));
  }

  /** `train`, `train_2`, `train_3` … in call order, skipping ids taken explicitly. */
  private nextId(name: string): string {
    let count = this.callCounts.get(name) ?? 0;
    let id: string;
    do {
      count += 1;
      id = count === 1 ? name : `${name}_${count}`;
    } while (this.invocations.has(id));
    this.callCounts.set(name, count);
    return id;
  }

  private bind(arg: unknown, where: { id: string; index: number; upstream: Set<string> }): InputBinding {
    if (arg instanceof StepOutput) {
      const handle = this.ownHandle(arg, where.id, `argument ${where.index + 1}`);
      where.upstream.add(handle.step);
      return { kind: "artifact", step: handle.step, output: handle.output };
    }
    if (arg === undefined) return { kind: "undefined" };
    const problem = findUnserializable(arg, `argument ${where.index + 1}`);
    if (problem) {
      throw new OrchError("E_COMPILE", {
        step: where.id,
        message: `Step "${where.id}" in pipeline "${this.pipelineName}": ${problem}, so it cannot be a parameter.`,
        hint: "Pass JSON-serializable literals, or produce the value in a step and pass that step's output.",
      });
    }
    return { kind: "param", value: arg };
  }

  private ownHandle(handle: StepOutput<unknown>, stepId: string, what: string): StepOutput<unknown> {
    if (!(handle instanceof StepOutput) || handle.scope !== this || !this.invocations.has(handle.step)) {
      throw new OrchError("E_COMPILE", {
        step: stepId,
        message: `Step "${stepId}" ${what} is the output of step "${(handle as StepOutput<unknown>)?.step}" from another pipeline (or another compilation).`,
        hint: "Step outputs can only be passed between steps called in the same pipeline function.",
      });
    }
    return handle;
  }

  private settingsFor(definition: StepDefinition, options: InvocationOptions): MergedStepSettings {
    const { id: _id, after: _after, ...overrides } = options;
    if (Object.keys(overrides).length > 0) {
      const parsed = parseStepSettings(overrides, `invocation of step "${definition.name}"`);
      return mergeSettings([this.pipelineSettings, definition.settings, parsed]);
    }
    // Settings depend only on the step definition here; merging once per step keeps 10k-step compiles fast.
    let merged = this.mergedByStep.get(definition);
    if (!merged) {
      merged = mergeSettings([this.pipelineSettings, definition.settings]);
      this.mergedByStep.set(definition, merged);
    }
    return merged;
  }
}

function afterHandles(after: InvocationOptions["after"]): StepOutput<unknown>[] {
  if (!after) return [];
  if (after instanceof StepOutput) return [after];
  if (Array.isArray(after)) return after;
  return Object.values(after);
}
