/** Set while orch-entrypoint imports user modules, so a stray top-level `pipeline.run()` fails clearly. */
let loading = false;

export function isEntrypointLoading(): boolean {
  return loading;
}

export function setEntrypointLoading(value: boolean): void {
  loading = value;
}
