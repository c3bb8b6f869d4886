import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleResolve } from "import-meta-resolve";
import { OrchError } from "../errors.js";
import { canonicalFlavor, displayFlavor, firstPartyFlavor, pluginCandidates, suggestFlavor, FIRST_PARTY_FLAVORS } from "../flavors.js";
import { detectPackageManager, installCommand } from "./package-manager.js";
import { ORCH_PLUGIN_API, type AnyPlugin, type ArtifactStorePlugin, type OrchestratorPlugin } from "./plugin.js";
import type { ContainerRegistryPlugin } from "./container-registry.js";

export type PluginKind = AnyPlugin["kind"];
// Existing importers of these names from here; they live in the naming module.
export { FIRST_PARTY_FLAVORS, pluginCandidates };
type PluginOfKind<K extends PluginKind> = K extends "orchestrator" ? OrchestratorPlugin : K extends "artifact-store" ? ArtifactStorePlugin : ContainerRegistryPlugin;

const registered = new Map<string, AnyPlugin>();
const resolvedCache = new Map<string, AnyPlugin>();

/** Makes a plugin available by flavor in this process (bundlers, tests, typed factories). */
export function registerPlugin(plugin: AnyPlugin): void {
  registered.set(`${plugin.kind}:${plugin.flavor}`, plugin);
}

export interface ResolvePluginOptions {
  projectRoot: string;
  /** An explicit package or module path from the component (`package:` in the stack). */
  package?: string;
}

/**
 * Finds and loads the plugin for a flavor from the user's project (never from core's own
 * node_modules): explicit package → registered in-process → @orch/plugin-<id> → orch-plugin-<id>
 * (→ @scope/orch-plugin-<x> for scoped flavors). Only "that package is not installed" moves on.
 */
export async function resolvePlugin<K extends PluginKind>(kind: K, flavor: string, options: ResolvePluginOptions): Promise<PluginOfKind<K>> {
  const id = canonicalFlavor(flavor);
  const inProcess = registered.get(`${kind}:${id}`);
  if (inProcess && !options.package) return inProcess as PluginOfKind<K>;
  const cacheKey = `${options.projectRoot}\0${kind}\0${id}\0${options.package ?? ""}`;
  const cached = resolvedCache.get(cacheKey);
  if (cached) return cached as PluginOfKind<K>;

  const parent = pathToFileURL(join(options.projectRoot, "__orch_resolve__.js"));
  const candidates = options.package ? [options.package] : pluginCandidates(id, kind);
  const tried: string[] = [];
  for (const specifier of candidates) {
    const url = tryResolve(specifier, parent);
    tried.push(specifier);
    if (!url) continue;
    let module: unknown;
    try {
      module = await import(url.href);
    } catch (cause) {
      throw new OrchError("E_PLUGIN_INVALID", {
        flavor: id,
        message: `Plugin package "${specifier}" for flavor "${id}" is installed but failed to load: ${(cause as Error)?.message ?? cause}`,
        hint: `Reinstall it (${installCommand(detectPackageManager(options.projectRoot), specifier)}); a missing dependency inside it means a broken install.`,
        cause,
      });
    }
    const plugin = assertPlugin(module, kind, id, specifier);
    resolvedCache.set(cacheKey, plugin);
    return plugin as PluginOfKind<K>;
  }
  throw flavorNotFound(kind, id, tried, options);
}

/**
 * The error for a flavor no candidate provides. Its hint only names packages this repository
 * publishes: the flavor's own first-party package, or the first-party flavor a typo is close to;
 * otherwise it says how a third-party plugin would be named, without pretending one exists.
 */
function flavorNotFound(kind: PluginKind, id: string, tried: string[], options: ResolvePluginOptions): OrchError {
  const where = `Tried: ${tried.join(", ")} (from ${options.projectRoot}).`;
  const install = (name: string) => installCommand(detectPackageManager(options.projectRoot), name);
  const own = options.package || id.startsWith("@") ? undefined : firstPartyFlavor(id, kind);
  if (options.package || own) {
    return new OrchError("E_FLAVOR_NOT_FOUND", {
      flavor: id,
      message: `No ${kind} plugin found for flavor "${displayFlavor(id)}": ${options.package ?? own!.package} is not installed. ${where}`,
      hint: `Install it with: ${install(options.package ?? own!.package)}`,
    });
  }
  const suggestion = id.startsWith("@") ? undefined : suggestFlavor(id, kind);
  if (suggestion) {
    return new OrchError("E_FLAVOR_NOT_FOUND", {
      flavor: id,
      message: `No ${kind} plugin found for flavor "${displayFlavor(id)}". ${where} Did you mean "${displayFlavor(suggestion)}"?`,
      hint: `Use --flavor=${displayFlavor(suggestion)} (install it with: ${install(firstPartyFlavor(suggestion, kind)!.package)}).`,
    });
  }
  const known = FIRST_PARTY_FLAVORS.filter((entry) => entry.kind === kind).map((entry) => displayFlavor(entry.flavor));
  return new OrchError("E_FLAVOR_NOT_FOUND", {
    flavor: id,
    message: `No ${kind} plugin found for flavor "${displayFlavor(id)}". ${where} orch publishes no plugin for it; first-party ${kind} flavors: ${known.join(", ")}.`,
    hint: `Install a plugin package that provides "${displayFlavor(id)}" (by convention named ${tried.join(" or ")}), or set the component's package to the one that does.`,
  });
}

/** Resolves `specifier` from `parent`; undefined only when that very package/module is not found. */
function tryResolve(specifier: string, parent: URL): URL | undefined {
  try {
    return moduleResolve(specifier, parent, resolveConditions());
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = String((error as Error).message);
    const aboutThisSpecifier = message.includes(`'${specifier}'`) || message.includes(specifier);
    if ((code === "ERR_MODULE_NOT_FOUND" || code === "ERR_PACKAGE_PATH_NOT_EXPORTED") && aboutThisSpecifier) return undefined;
    throw error;
  }
}

let conditions: Set<string> | undefined;
/**
 * Conditions for resolving plugin packages: Node's defaults, any `--conditions` the process runs with,
 * and `@orch/source` when core itself runs from TypeScript source (the monorepo's live types).
 */
function resolveConditions(): Set<string> {
  if (conditions) return conditions;
  conditions = new Set(["node", "import"]);
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith("--conditions=")) conditions.add(arg.slice("--conditions=".length));
    else if ((arg === "--conditions" || arg === "-C") && args[i + 1]) conditions.add(args[++i]!);
  }
  if (import.meta.url.endsWith(".ts")) conditions.add("@orch/source");
  return conditions;
}

function assertPlugin(module: unknown, kind: PluginKind, id: string, specifier: string): AnyPlugin {
  let plugin = (module as { default?: unknown })?.default;
  // CJS interop: `module.exports = { default: plugin }` arrives as default.default.
  if (plugin && typeof plugin === "object" && "default" in plugin && !("kind" in plugin)) plugin = (plugin as { default: unknown }).default;
  const candidate = plugin as Partial<AnyPlugin> | undefined;
  if (!candidate || typeof candidate !== "object" || !candidate.kind || !candidate.flavor) {
    throw new OrchError("E_PLUGIN_INVALID", {
      flavor: id,
      message: `Package "${specifier}" does not default-export an orch plugin.`,
      hint: "A plugin package must `export default defineOrchestrator({...})` (or defineArtifactStore, defineContainerRegistry).",
    });
  }
  if (candidate.kind !== kind) {
    throw new OrchError("E_PLUGIN_INVALID", {
      flavor: id,
      message: `Package "${specifier}" provides ${article(candidate.kind)} ${candidate.kind} plugin, but ${article(kind)} ${kind} was asked for with flavor "${id}".`,
      hint: `Register it as ${candidate.kind === "artifact-store" ? "an artifact store" : candidate.kind === "container-registry" ? "a container registry" : "an orchestrator"} instead.`,
    });
  }
  if (candidate.apiVersion !== ORCH_PLUGIN_API) {
    throw new OrchError("E_PLUGIN_API_MISMATCH", {
      flavor: id,
      message: `Plugin "${specifier}" was built for orch plugin API ${candidate.apiVersion}, this @orch/core speaks API ${ORCH_PLUGIN_API}.`,
      hint: `Upgrade the plugin or @orch/core so that both agree (see docs/plugins.md, "API version policy").`,
    });
  }
  // A scoped flavor `@acme/gpu` is provided by a plugin whose own flavor id is `gpu`.
  const expected = id.startsWith("@") ? id.split("/")[1] : id;
  if (expected !== undefined && candidate.flavor !== expected) {
    throw new OrchError("E_PLUGIN_INVALID", {
      flavor: id,
      message: `Package "${specifier}" provides flavor "${candidate.flavor}", not "${expected}".`,
      hint: `Use --flavor=${candidate.flavor}, or fix the plugin's flavor id.`,
    });
  }
  return candidate as AnyPlugin;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? "an" : "a");
