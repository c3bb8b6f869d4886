import type { Command } from "commander";
import type { ComponentKind, ComponentRow } from "@orch/store-sqlite";
import { openProjectIndex, requireProject } from "../context.js";
import { displayFlavor, out, printJson, table } from "../output.js";

type Options = { json?: boolean; flavor?: string; package?: string; unset?: string[] };

/** Extra `--key=value` arguments after the component name. */
function extraArgs(command: Command): string[] {
  return command.args.slice(1);
}

async function register(kind: ComponentKind, name: string, options: Options, command: Command): Promise<number> {
  const project = requireProject();
  const core = await import("@orch/core/host");
  const assertValidName: typeof core.assertValidName = core.assertValidName;
  const { parseComponentConfig } = core;
  const { componentSchema } = await import("../runtime.js");
  const { configFromArgs, parseKeyValueArgs } = await import("../config-keys.js");
  assertValidName(kind.replace("-", " "), name);
  const { schema, flavor } = await componentSchema(kind, options.flavor!, project, options.package);
  const config = configFromArgs(parseKeyValueArgs(extraArgs(command)), schema, flavor);
  parseComponentConfig({ flavor, configSchema: schema }, config);
  const index = openProjectIndex(project);
  try {
    index.putComponent({ kind, name, flavor, config, ...(options.package ? { package: options.package } : {}) });
  } finally {
    index.close();
  }
  const { redact } = await import("../config-keys.js");
  if (options.json) printJson({ kind, name, flavor: displayFlavor(flavor), config: redact(config, schema) });
  else out(`Registered ${kind} "${name}" (flavor ${displayFlavor(flavor)}).`);
  return 0;
}

async function update(kind: ComponentKind, name: string, options: Options, command: Command): Promise<number> {
  const project = requireProject();
  const index = openProjectIndex(project);
  try {
    const current = index.requireComponent(kind, name);
    const { parseComponentConfig } = await import("@orch/core/host");
    const { componentSchema } = await import("../runtime.js");
    const { configFromArgs, parseKeyValueArgs, camelKey, redact } = await import("../config-keys.js");
    const { schema, flavor } = await componentSchema(kind, current.flavor, project, current.package);
    const config = { ...current.config, ...configFromArgs(parseKeyValueArgs(extraArgs(command)), schema, flavor) };
    for (const key of options.unset ?? []) delete config[camelKey(key)];
    parseComponentConfig({ flavor, configSchema: schema }, config);
    index.putComponent({ ...current, config }, { replace: true });
    if (options.json) printJson({ kind, name, flavor: displayFlavor(flavor), config: redact(config, schema) });
    else out(`Updated ${kind} "${name}".`);
    return 0;
  } finally {
    index.close();
  }
}

function list(kind: ComponentKind, options: Options): number {
  const index = openProjectIndex(requireProject());
  try {
    const components = index.listComponents(kind);
    const stacks = index.listStacks();
    const active = index.getStack(index.activeStackName());
    const field = kind === "orchestrator" ? "orchestrator" : kind === "artifact-store" ? "artifactStore" : "containerRegistry";
    const rows = components.map((c) => ({
      name: c.name,
      flavor: displayFlavor(c.flavor),
      active: active?.[field] === c.name,
      stacks: stacks.filter((s) => s[field] === c.name).map((s) => s.name),
    }));
    if (options.json) printJson(rows);
    else if (!rows.length) out(`No ${kind}s registered. Register one: orch ${kind} register NAME --flavor=FLAVOR`);
    else out(table(["", "NAME", "FLAVOR", "STACKS"], rows.map((r) => [r.active ? "*" : "", r.name, r.flavor, r.stacks.join(", ")])));
    return 0;
  } finally {
    index.close();
  }
}

async function describe(kind: ComponentKind, name: string, options: Options): Promise<number> {
  const project = requireProject();
  const index = openProjectIndex(project);
  let component: ComponentRow;
  let stacks: string[];
  try {
    component = index.requireComponent(kind, name);
    stacks = index.stacksUsing(kind, name);
  } finally {
    index.close();
  }
  const { redact, schemaShape } = await import("../config-keys.js");
  let schema;
  try {
    schema = (await (await import("../runtime.js")).componentSchema(kind, component.flavor, project, component.package)).schema;
  } catch {
    schema = undefined; // plugin not installed any more: still show what is stored, redacting by key name
  }
  // Without the schema (plugin not installed any more) secrets are still recognised by their keys.
  const config = redact(component.config, schema);
  const data = { kind, name, flavor: displayFlavor(component.flavor), ...(component.package ? { package: component.package } : {}), config, stacks, createdAt: component.createdAt, updatedAt: component.updatedAt };
  if (options.json) {
    printJson(data);
    return 0;
  }
  out(`${kind} ${name}`);
  out(`  flavor:  ${data.flavor}${component.package ? ` (package ${component.package})` : ""}`);
  out(`  stacks:  ${stacks.join(", ") || "-"}`);
  const keys = Object.keys(config);
  out(`  config:${keys.length ? "" : " (defaults)"}`);
  for (const key of keys) out(`    ${key}: ${JSON.stringify(config[key])}`);
  const shape = schema ? schemaShape(schema) : undefined;
  const unset = shape ? Object.keys(shape).filter((k) => !(k in config)) : [];
  if (unset.length) out(`  other keys (defaults): ${unset.join(", ")}`);
  return 0;
}

function remove(kind: ComponentKind, name: string, options: Options): number {
  const index = openProjectIndex(requireProject());
  try {
    index.deleteComponent(kind, name);
  } finally {
    index.close();
  }
  if (options.json) printJson({ kind, name, deleted: true });
  else out(`Deleted ${kind} "${name}".`);
  return 0;
}

async function flavors(kind: ComponentKind, options: Options): Promise<number> {
  const project = requireProject();
  const { listFlavors } = await import("./integrations.js");
  const rows = await listFlavors(kind, project.root);
  if (options.json) printJson(rows);
  else out(table(["FLAVOR", "PACKAGE", "INSTALLED", "SOURCE"], rows.map((r) => [r.flavor, r.package ?? "(built in)", r.installed ? r.version ?? "yes" : "no", r.source])));
  return 0;
}

export const registerOrchestrator = (name: string, o: Options, c: Command) => register("orchestrator", name, o, c);
export const registerArtifactStore = (name: string, o: Options, c: Command) => register("artifact-store", name, o, c);
export const registerContainerRegistry = (name: string, o: Options, c: Command) => register("container-registry", name, o, c);
export const orchestratorList = (o: Options) => list("orchestrator", o);
export const artifactStoreList = (o: Options) => list("artifact-store", o);
export const containerRegistryList = (o: Options) => list("container-registry", o);
export const orchestratorDescribe = (n: string, o: Options) => describe("orchestrator", n, o);
export const artifactStoreDescribe = (n: string, o: Options) => describe("artifact-store", n, o);
export const containerRegistryDescribe = (n: string, o: Options) => describe("container-registry", n, o);
export const orchestratorUpdate = (n: string, o: Options, c: Command) => update("orchestrator", n, o, c);
export const artifactStoreUpdate = (n: string, o: Options, c: Command) => update("artifact-store", n, o, c);
export const containerRegistryUpdate = (n: string, o: Options, c: Command) => update("container-registry", n, o, c);
export const orchestratorDelete = (n: string, o: Options) => remove("orchestrator", n, o);
export const artifactStoreDelete = (n: string, o: Options) => remove("artifact-store", n, o);
export const containerRegistryDelete = (n: string, o: Options) => remove("container-registry", n, o);
export const orchestratorFlavors = (o: Options) => flavors("orchestrator", o);
export const artifactStoreFlavors = (o: Options) => flavors("artifact-store", o);
export const containerRegistryFlavors = (o: Options) => flavors("container-registry", o);

