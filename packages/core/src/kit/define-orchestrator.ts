import type { z } from "zod";
import { OrchError } from "../errors.js";
import { CONSERVATIVE_CAPABILITIES, OrchestratorCapabilitiesSchema, type CapabilitiesInput, type OrchestratorCapabilities } from "../plugins/capabilities-schema.js";
import { ORCH_PLUGIN_API, assertFlavorId, type Orchestrator, type OrchestratorPlugin, type PluginContext } from "../plugins/plugin.js";
import { withJournalFallbacks } from "./journal-fallback.js";

/**
 * What a flavor's runtime module exports: `export function createOrchestrator(config, context)`.
 * The module is loaded only when a run needs the backend, so it is the place for the backend's SDK.
 */
export interface OrchestratorRuntimeModule<Config> {
  createOrchestrator(config: Config, context: PluginContext): Orchestrator | Promise<Orchestrator>;
}

export interface OrchestratorDefinition<S extends z.ZodType> {
  /** Canonical flavor id: lower-case kebab case (`local-docker`; users may write `local_docker`). */
  flavor: string;
  /** Strict zod object: drives CLI flags, validation and docs. */
  configSchema: S;
  /** Validates `settings.<flavor>` on steps and pipelines at submit. */
  settingsSchema?: z.ZodType;
  /** What the flavor honours; anything left out is the conservative default (not supported). */
  capabilities?: CapabilitiesInput;
  /** `() => import("./runtime.js")`: the lazy import is the contract; the module exports `createOrchestrator`. */
  runtime: () => Promise<OrchestratorRuntimeModule<z.output<S>>>;
}

/**
 * @deprecated The hand-written `create` of plugins written before the plugin kit. Declare
 * `runtime: () => import("./runtime.js")` instead; this form goes away with the next plugin API.
 */
export interface LegacyOrchestratorDefinition<S extends z.ZodType> {
  flavor: string;
  configSchema: S;
  settingsSchema?: z.ZodType;
  capabilities?: CapabilitiesInput;
  create(config: z.output<S>, context: PluginContext): Promise<Orchestrator>;
}

/**
 * Declares an orchestrator plugin: checks the flavor id and the capabilities, fills in the
 * conservative defaults, stamps kind and API version and freezes the descriptor. Its `create`
 * loads the runtime module on first use and gives the runtime journal-backed `status` and `logs`
 * when it has none of its own.
 */
export function defineOrchestrator<S extends z.ZodType>(definition: OrchestratorDefinition<S> | LegacyOrchestratorDefinition<S>): OrchestratorPlugin<S> {
  assertFlavorId(definition.flavor);
  const capabilities = resolveCapabilities(definition.flavor, definition.capabilities);
  const make = "runtime" in definition ? fromRuntimeModule(definition.flavor, definition.runtime) : definition.create;
  const plugin: OrchestratorPlugin<S> = {
    kind: "orchestrator",
    apiVersion: ORCH_PLUGIN_API,
    flavor: definition.flavor,
    configSchema: definition.configSchema,
    ...(definition.settingsSchema ? { settingsSchema: definition.settingsSchema } : {}),
    capabilities,
    async create(config, context) {
      return withJournalFallbacks(await make(config, context), context.artifactStore);
    },
  };
  return Object.freeze(plugin);
}

function fromRuntimeModule<C>(flavor: string, load: () => Promise<OrchestratorRuntimeModule<C>>) {
  return async (config: C, context: PluginContext): Promise<Orchestrator> => {
    const module = await load();
    if (typeof module?.createOrchestrator !== "function") {
      throw new OrchError("E_PLUGIN_INVALID", {
        flavor,
        message: `The runtime module of the ${flavor} orchestrator does not export createOrchestrator(config, context).`,
        hint: "Export `function createOrchestrator(config, context)` from the module that `runtime: () => import(...)` loads.",
      });
    }
    return module.createOrchestrator(config, context);
  };
}

/** The declared capabilities over the conservative set, checked against the schema. */
export function resolveCapabilities(flavor: string, declared: CapabilitiesInput = {}): OrchestratorCapabilities {
  const merged = {
    ...CONSERVATIVE_CAPABILITIES,
    ...declared,
    schedules: { ...CONSERVATIVE_CAPABILITIES.schedules, ...declared.schedules },
    requires: { ...CONSERVATIVE_CAPABILITIES.requires, ...declared.requires },
  };
  const parsed = OrchestratorCapabilitiesSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `capabilities.${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new OrchError("E_PLUGIN_INVALID", {
      flavor,
      message: `The ${flavor} orchestrator declares invalid capabilities:\n${lines.join("\n")}`,
      hint: "See OrchestratorCapabilitiesSchema in @orch/core/plugin for every capability and its values.",
    });
  }
  return Object.freeze(parsed.data);
}
