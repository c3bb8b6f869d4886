import { OrchError } from "@orch/core/plugin";

/**
 * KFP names tasks, components and executors in lower-kebab case (the KFP SDK does the same: Argo
 * templates and pod names are DNS labels). orch step ids may differ only by case or `_`/`-`, so two ids
 * can sanitize to one name: the later one (in the snapshot's order) gets `-2`, `-3` … deterministically.
 */
export function kfpName(value: string): string {
  const name = value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name || "step";
}

/** Maps each step id (in order) to a unique task name, avoiding the `reserved` names. */
export function taskNames(order: readonly string[], reserved: readonly string[] = []): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>(reserved);
  for (const id of order) {
    const base = kfpName(id);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    names.set(id, name);
  }
  return names;
}

/** The reserved root parameter that carries orch's run id to every task. */
export const RUN_ID_PARAMETER = "orch_run_id";

/** KFP input parameter names: identifiers (the SDK derives them from Python argument names). */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertParameterName(name: string, pipeline: string): void {
  if (name === RUN_ID_PARAMETER) {
    throw new OrchError("E_SETTINGS_INVALID", {
      flavor: "kubeflow",
      key: name,
      message: `Pipeline "${pipeline}" has a parameter named ${RUN_ID_PARAMETER}, which the KFP IR reserves for orch's run id.`,
      hint: "Rename the parameter.",
    });
  }
  if (!PARAMETER_NAME.test(name)) {
    throw new OrchError("E_SETTINGS_INVALID", {
      flavor: "kubeflow",
      key: name,
      message: `Pipeline "${pipeline}" has a parameter named ${JSON.stringify(name)}, which is not a KFP parameter name (letters, digits and _, not starting with a digit).`,
      hint: "Rename the parameter to an identifier such as n_trees or nTrees.",
    });
  }
}
