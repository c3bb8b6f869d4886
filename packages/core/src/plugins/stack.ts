import { join, resolve } from "node:path";
import type { z } from "zod";
import { OrchError } from "../errors.js";
import { assertValidName, canonicalFlavor } from "../names.js";
import { createLocalArtifactStore, localArtifactStoreConfigSchema } from "../store/local-store.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { parseComponentConfig, type OrchestratorPlugin, type ArtifactStorePlugin, type ContainerRegistryComponent } from "./plugin.js";
import { BUILT_IN_REGISTRIES } from "./builtin-registries.js";
import type { ContainerRegistry, ContainerRegistryPlugin } from "./container-registry.js";
import { resolveEnvReferences } from "../settings/env-references.js";
import { looksSecret, schemaSecretFlag } from "../settings/secret.js";
import { resolvePlugin } from "./resolve-plugin.js";

/**
 * A stack component as stored or written by hand: a flavor plus config, optionally an explicit
 * package, or the plugin itself (what typed factories such as `local({...})` return).
 */
export interface ComponentSpec<P = unknown> {
  name?: string;
  flavor: string;
  config?: Record<string, unknown>;
  /** Package or module path that provides the flavor, used verbatim. */
  package?: string;
  plugin?: P;
}

export interface StackDefinition {
  name: string;
  orchestrator: ComponentSpec<OrchestratorPlugin>;
  artifactStore: ComponentSpec<ArtifactStorePlugin>;
  containerRegistry?: ComponentSpec<ContainerRegistryPlugin>;
}

/** Declares a stack in code; typed factories give config inference: `defineStack({ name, orchestrator: local({ maxParallelism: 2 }) })`. */
export function defineStack(definition: Omit<StackDefinition, "artifactStore"> & { artifactStore?: StackDefinition["artifactStore"] }): StackDefinition {
  assertValidName("stack", definition.name);
  return { ...definition, artifactStore: definition.artifactStore ?? localArtifactStore() };
}

/** What a typed plugin factory returns: the plugin plus a config already typed by its schema. */
export function componentFactory<S extends z.ZodType>(plugin: OrchestratorPlugin<S>) {
  return (config: z.input<S> = {} as z.input<S>): ComponentSpec<OrchestratorPlugin> => ({
    flavor: plugin.flavor,
    config: config as Record<string, unknown>,
    plugin: plugin as unknown as OrchestratorPlugin,
  });
}

/** The built-in `local` artifact store, a folder (default `.orch/artifacts` in the project, or `$ORCH_HOME/artifacts`). */
export function localArtifactStore(config: { path?: string } = {}): ComponentSpec<ArtifactStorePlugin> {
  const fallback = process.env.ORCH_HOME ? join(resolve(process.env.ORCH_HOME), "artifacts") : ".orch/artifacts";
  return { flavor: "local", config: { path: config.path ?? fallback } };
}

/** The stack used when nothing else is active: local orchestrator, local artifact store. */
export function defaultStack(): StackDefinition {
  return { name: "default", orchestrator: { name: "default", flavor: "local", config: {} }, artifactStore: { name: "default", ...localArtifactStore() } };
}

export interface ActiveStack {
  name: string;
  projectRoot: string;
  orchestrator: { name: string; plugin: OrchestratorPlugin; config: Record<string, unknown> };
  artifactStore: ArtifactStore;
  artifactStoreRemote: boolean;
  containerRegistry?: ContainerRegistryComponent;
}

/** Resolves a stack's plugins from the project and validates each component's config. */
export async function activateStack(stack: StackDefinition, projectRoot: string): Promise<ActiveStack> {
  const orchestratorPlugin =
    stack.orchestrator.plugin ??
    (await resolvePlugin("orchestrator", stack.orchestrator.flavor, { projectRoot, ...(stack.orchestrator.package ? { package: stack.orchestrator.package } : {}) }));
  const orchestratorConfig = parseComponentConfig(orchestratorPlugin, resolveEnvReferences(stack.orchestrator.config, orchestratorPlugin.flavor));
  const { store, remote } = await createArtifactStore(stack.artifactStore, projectRoot);
  // A wrong bucket or missing credentials fails here, with the store's own error, not inside a step.
  await store.preflight?.();
  return {
    name: stack.name,
    projectRoot,
    orchestrator: { name: stack.orchestrator.name ?? stack.orchestrator.flavor, plugin: orchestratorPlugin, config: orchestratorConfig as Record<string, unknown> },
    artifactStore: store,
    artifactStoreRemote: remote,
    ...(stack.containerRegistry ? { containerRegistry: await activateContainerRegistry(stack.containerRegistry, projectRoot) } : {}),
  };
}

/**
 * Resolves the registry's flavor (built in: default, dockerhub, github; else `@orch/registry-<id>`)
 * and validates its config now, so a typo fails before anything is built. Secrets stay
 * `{{env.NAME}}` references here: the registry resolves them when a push asks for credentials.
 */
export async function activateContainerRegistry(spec: ComponentSpec<ContainerRegistryPlugin>, projectRoot: string): Promise<ContainerRegistryComponent> {
  const flavor = canonicalFlavor(spec.flavor);
  const plugin =
    spec.plugin ??
    (!spec.package ? BUILT_IN_REGISTRIES[flavor] : undefined) ??
    (await resolvePlugin("container-registry", flavor, { projectRoot, ...(spec.package ? { package: spec.package } : {}) }));
  // Plain keys (uri, region …) are resolved now, like every component's; secret ones at push time.
  const shape = (plugin.configSchema as { shape?: Record<string, z.ZodType> }).shape ?? {};
  const raw = Object.entries(spec.config ?? {}).map(([key, value]) => [key, (schemaSecretFlag(shape[key]) ?? looksSecret(key)) ? value : resolveEnvReferences({ [key]: value }, plugin.flavor)[key]]);
  const config = parseComponentConfig(plugin, Object.fromEntries(raw)) as Record<string, unknown>;
  let opened: Promise<ContainerRegistry> | undefined;
  return {
    flavor: plugin.flavor,
    config,
    open: () => (opened ??= plugin.create(config as never, { projectRoot })),
  };
}

/** Opens an artifact store from its component spec: the built-in `local` flavor, or a plugin. */
export async function createArtifactStore(spec: ComponentSpec<ArtifactStorePlugin>, projectRoot: string): Promise<{ store: ArtifactStore; remote: boolean }> {
  const flavor = canonicalFlavor(spec.flavor);
  if (flavor === "local" && !spec.plugin && !spec.package) {
    const config = parseComponentConfig({ flavor: "local", configSchema: localArtifactStoreConfigSchema }, resolveEnvReferences(spec.config, "local"));
    return { store: createLocalArtifactStore(resolve(projectRoot, config.path)), remote: false };
  }
  const plugin = spec.plugin ?? (await resolvePlugin("artifact-store", flavor, { projectRoot, ...(spec.package ? { package: spec.package } : {}) }));
  const config = parseComponentConfig(plugin, resolveEnvReferences(spec.config, plugin.flavor));
  return { store: await plugin.create(config, { projectRoot }), remote: plugin.remote };
}

let stackResolver: ((name?: string) => Promise<StackDefinition | undefined>) | undefined;

/**
 * Lets a host (the `orch` CLI and its stack store) decide which stack `pipeline.run()` uses and what
 * a stack name means. Without one, runs use the default stack.
 */
export function setStackResolver(resolver: typeof stackResolver): void {
  stackResolver = resolver;
}

export async function resolveStack(stack: StackDefinition | string | undefined): Promise<StackDefinition> {
  if (typeof stack === "object") return stack;
  const found = stackResolver ? await stackResolver(stack) : undefined;
  if (found) return found;
  if (stack === undefined || stack === "default") return defaultStack();
  throw new OrchError("E_STACK_INVALID", {
    message: `Stack "${stack}" is not known in this process.`,
    hint: "Pass a stack object (defineStack(...)), or run through the orch CLI, which knows registered stacks (orch stack list).",
  });
}

/** `.orch/artifacts` under the project: where the default stack keeps runs and artifacts. */
export function defaultArtifactsPath(projectRoot: string): string {
  return join(projectRoot, ".orch", "artifacts");
}
