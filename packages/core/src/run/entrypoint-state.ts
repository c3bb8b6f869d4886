/** Set while orch-entrypoint imports user modules, so a stray top-level `pipeline.run()` fails clearly. */
let loading = false;
/** In a step worker, a top-level `pipeline.run()` is parked (never settles) instead of failing. */
let parkNestedRuns = false;
let parked: (() => void) | undefined;
const nestedRunParked = new Promise<void>((resolve) => (parked = resolve));

export function isEntrypointLoading(): boolean {
  return loading;
}

export function setEntrypointLoading(value: boolean): void {
  loading = value;
}

/**
 * Step workers import the module that defines a step; that module may also run its pipeline at top
 * level (`await training.run()`), as scripts do. There the run is parked: the steps defined above it
 * are registered, and the code after it never runs in the worker.
 */
export function parkNestedRunsWhileLoading(): void {
  parkNestedRuns = true;
}

/** What `pipeline.run()` does while a module is being loaded by orch: park (a promise that never settles) or undefined (fail). */
export function parkedNestedRun(): Promise<never> | undefined {
  if (!parkNestedRuns) return undefined;
  parked?.();
  return new Promise<never>(() => {});
}

/** Resolves once a module being loaded reached a parked `pipeline.run()`. */
export function whenNestedRunParked(): Promise<void> {
  return nestedRunParked;
}
