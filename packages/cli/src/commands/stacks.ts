import type { StackRow } from "@orch/store-sqlite";
import { openProjectIndex, requireProject } from "../context.js";
import { UsageError } from "../errors.js";
import { displayFlavor, out, printJson, quote, table } from "../output.js";

type JsonOption = { json?: boolean };

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
function checkName(name: string) {
  if (!NAME.test(name)) throw new UsageError(`Invalid stack name ${quote(name)}.`, 'Use letters, digits, "_" and "-", starting with a letter or "_" (e.g. "production").');
}

/** A stack as `--json` prints it after a change. */
function stackJson(index: ReturnType<typeof openProjectIndex>, name: string) {
  const stack = index.requireStack(name);
  return { ...stack, active: index.activeStackName() === stack.name };
}

function withIndex<T>(fn: (index: ReturnType<typeof openProjectIndex>) => T): T {
  const index = openProjectIndex(requireProject());
  try {
    return fn(index);
  } finally {
    index.close();
  }
}

export function register(name: string, options: JsonOption & { orchestrator: string; artifactStore: string; containerRegistry?: string; set?: boolean }): number {
  checkName(name);
  const stack = withIndex((index) => {
    index.putStack({ name, orchestrator: options.orchestrator, artifactStore: options.artifactStore, containerRegistry: options.containerRegistry });
    if (options.set) index.setActiveStack(name);
    return stackJson(index, name);
  });
  if (options.json) printJson(stack);
  else out(`Registered stack "${name}"${options.set ? " and made it active" : ""}.`);
  return 0;
}

export function list(options: { json?: boolean }): number {
  return withIndex((index) => {
    const active = index.activeStackName();
    const stacks = index.listStacks().map((s) => ({ ...s, active: s.name === active }));
    if (options.json) printJson(stacks);
    else out(table(["", "STACK", "ORCHESTRATOR", "ARTIFACT STORE", "CONTAINER REGISTRY"], stacks.map((s) => [s.active ? "*" : "", s.name, s.orchestrator, s.artifactStore, s.containerRegistry ?? "-"])));
    return 0;
  });
}

export function describe(name: string | undefined, options: { json?: boolean }): number {
  return withIndex((index) => {
    const stack = index.requireStack(name ?? index.activeStackName());
    const active = index.activeStackName() === stack.name;
    const component = (kind: "orchestrator" | "artifact-store" | "container-registry", n: string | undefined) => {
      if (!n) return undefined;
      const c = index.getComponent(kind, n);
      return c ? { name: c.name, flavor: displayFlavor(c.flavor) } : { name: n, flavor: "(missing)" };
    };
    const data = {
      name: stack.name,
      active,
      orchestrator: component("orchestrator", stack.orchestrator),
      artifactStore: component("artifact-store", stack.artifactStore),
      containerRegistry: component("container-registry", stack.containerRegistry),
    };
    if (options.json) printJson(data);
    else {
      out(`stack ${stack.name}${active ? " (active)" : ""}`);
      out(`  orchestrator:        ${data.orchestrator!.name} (${data.orchestrator!.flavor})`);
      out(`  artifact store:      ${data.artifactStore!.name} (${data.artifactStore!.flavor})`);
      out(`  container registry:  ${data.containerRegistry ? `${data.containerRegistry.name} (${data.containerRegistry.flavor})` : "-"}`);
    }
    return 0;
  });
}

export function copy(source: string, target: string, options: JsonOption = {}): number {
  checkName(target);
  const stack = withIndex((index) => {
    const stack = index.requireStack(source);
    index.putStack({ name: target, orchestrator: stack.orchestrator, artifactStore: stack.artifactStore, containerRegistry: stack.containerRegistry });
    return stackJson(index, target);
  });
  if (options.json) printJson({ ...stack, copiedFrom: source });
  else out(`Copied stack "${source}" to "${target}".`);
  return 0;
}

export function update(name: string, options: JsonOption & { orchestrator?: string; artifactStore?: string; containerRegistry?: string; removeContainerRegistry?: boolean }): number {
  if (!options.orchestrator && !options.artifactStore && !options.containerRegistry && !options.removeContainerRegistry) {
    throw new UsageError("Nothing to update.", "Give at least one of -o ORCHESTRATOR, -a ARTIFACT_STORE, -c CONTAINER_REGISTRY, --remove-container-registry.");
  }
  const updated = withIndex((index) => {
    const stack: StackRow = index.requireStack(name);
    index.putStack(
      {
        name,
        orchestrator: options.orchestrator ?? stack.orchestrator,
        artifactStore: options.artifactStore ?? stack.artifactStore,
        containerRegistry: options.removeContainerRegistry ? undefined : (options.containerRegistry ?? stack.containerRegistry),
      },
      { replace: true },
    );
    return stackJson(index, name);
  });
  if (options.json) printJson(updated);
  else out(`Updated stack "${name}".`);
  return 0;
}

export function set(name: string, options: JsonOption = {}): number {
  const stack = withIndex((index) => {
    index.setActiveStack(name);
    return stackJson(index, name);
  });
  if (options.json) printJson(stack);
  else out(`Active stack: ${name}`);
  return 0;
}

export function remove(name: string, options: JsonOption = {}): number {
  if (name === "default") throw new UsageError('The "default" stack cannot be deleted.', "Delete the stacks you registered yourself; default is the fallback stack.");
  withIndex((index) => index.deleteStack(name));
  if (options.json) printJson({ name, deleted: true });
  else out(`Deleted stack "${name}".`);
  return 0;
}
