import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { BUILT_IN_REGISTRY_FLAVORS, FIRST_PARTY_FLAVORS, displayFlavor, firstPartyFlavor, flavorOfPackage as canonicalFlavorOfPackage, pluginCandidates } from "@orch/core/host/light";
import type { ComponentKind } from "@orch/store-sqlite";
import { findProject } from "../context.js";
import { UsageError } from "../errors.js";
import { note, out, printJson, table } from "../output.js";

export interface FlavorInfo {
  flavor: string;
  package?: string;
  installed: boolean;
  version?: string;
  source: "built-in" | "first-party" | "third-party";
  kind?: string;
}

interface InstalledPackage {
  name: string;
  version: string;
  dir: string;
  keywords: string[];
}

/** The flavor a package name provides by naming convention, as users write it (`@orch/plugin-local-docker` → `local_docker`). */
export function flavorOfPackage(name: string): string | undefined {
  const id = canonicalFlavorOfPackage(name);
  return id === undefined ? undefined : id.replace(/-/g, "_");
}

const firstPartyRow = (entry: (typeof FIRST_PARTY_FLAVORS)[number], installed: InstalledPackage | undefined): FlavorInfo => ({
  flavor: displayFlavor(entry.flavor),
  package: entry.package,
  installed: Boolean(installed),
  ...(installed ? { version: installed.version } : {}),
  source: "first-party",
  kind: entry.kind,
});

/** orch plugin packages visible from `root` (its node_modules and those of every parent folder). */
export function installedPlugins(root: string, accept?: (name: string) => boolean): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>();
  let dir = resolve(root);
  for (;;) {
    const modules = join(dir, "node_modules");
    if (existsSync(modules)) {
      for (const name of candidatesIn(modules, accept)) {
        if (found.has(name)) continue; // nearer node_modules wins, as in Node's resolution
        try {
          const pkg = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8"));
          found.set(name, { name, version: String(pkg.version ?? ""), dir: join(modules, name), keywords: Array.isArray(pkg.keywords) ? pkg.keywords : [] });
        } catch {
          // not a package
        }
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return [...found.values()];
}

/** Container-registry packages visible from `root` (`@orch/registry-*`, `orch-registry-*`, `@scope/orch-registry-*`). */
function installedRegistries(root: string): InstalledPackage[] {
  return installedPlugins(root, (name) => canonicalFlavorOfPackage(name, "container-registry") !== undefined);
}

function candidatesIn(modules: string, accept: (name: string) => boolean = (name) => canonicalFlavorOfPackage(name) !== undefined): string[] {
  const names: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(modules);
  } catch {
    return names;
  }
  for (const entry of entries) {
    if (!entry.startsWith("@")) {
      if (accept(entry)) names.push(entry);
    } else {
      try {
        for (const sub of readdirSync(join(modules, entry))) {
          const name = `${entry}/${sub}`;
          if (accept(name)) names.push(name);
        }
      } catch {
        // unreadable scope
      }
    }
  }
  return names;
}

/** Flavors for a component kind: built-in, first-party (installed or not) and installed third-party plugins. */
export async function listFlavors(kind: ComponentKind, root: string): Promise<FlavorInfo[]> {
  const installed = kind === "container-registry" ? installedRegistries(root) : installedPlugins(root);
  const rows: FlavorInfo[] = [];
  if (kind === "artifact-store") rows.push({ flavor: "local", installed: true, source: "built-in" });
  if (kind === "container-registry") for (const flavor of BUILT_IN_REGISTRY_FLAVORS) rows.push({ flavor, installed: true, source: "built-in" });
  const wanted = kind;
  const { resolvePlugin } = await import("@orch/core/host");
  for (const pkg of installed) {
    const flavor = (kind === "container-registry" ? canonicalFlavorOfPackage(pkg.name, kind)!.replace(/-/g, "_") : flavorOfPackage(pkg.name))!;
    let pluginKind: string | undefined;
    try {
      const plugin = await resolvePlugin(wanted, flavor, { projectRoot: root, package: pkg.name });
      pluginKind = plugin.kind;
    } catch (error) {
      const message = String((error as Error)?.message ?? "");
      const match = /provides an? (orchestrator|artifact-store|container-registry) plugin/.exec(message);
      pluginKind = match?.[1] ?? "unknown";
    }
    if (pluginKind !== wanted && pluginKind !== "unknown") continue;
    rows.push({ flavor, package: pkg.name, installed: true, version: pkg.version, source: pkg.name.startsWith("@orch/") ? "first-party" : "third-party", kind: pluginKind });
  }
  for (const entry of FIRST_PARTY_FLAVORS) {
    if (entry.kind === wanted && !rows.some((r) => r.package === entry.package)) rows.push(firstPartyRow(entry, undefined));
  }
  const order = (r: FlavorInfo) => (r.source === "built-in" ? 0 : r.source === "first-party" ? 1 : 2);
  return rows.sort((a, b) => order(a) - order(b) || a.flavor.localeCompare(b.flavor));
}

function projectRoot(): string {
  return findProject()?.root ?? process.cwd();
}

export async function list(options: { json?: boolean }): Promise<number> {
  const root = projectRoot();
  const anyKind = (name: string) => canonicalFlavorOfPackage(name) !== undefined || canonicalFlavorOfPackage(name, "container-registry") !== undefined;
  const installed = installedPlugins(root, anyKind);
  const rows: FlavorInfo[] = FIRST_PARTY_FLAVORS.map((entry) => firstPartyRow(entry, installed.find((p) => p.name === entry.package)));
  for (const pkg of installed) {
    if (rows.some((r) => r.package === pkg.name)) continue;
    const flavor = flavorOfPackage(pkg.name) ?? canonicalFlavorOfPackage(pkg.name, "container-registry")!.replace(/-/g, "_");
    rows.push({ flavor, package: pkg.name, installed: true, version: pkg.version, source: pkg.name.startsWith("@orch/") ? "first-party" : "third-party" });
  }
  if (options.json) printJson(rows);
  else out(table(["FLAVOR", "KIND", "PACKAGE", "INSTALLED", "SOURCE"], rows.map((r) => [r.flavor, r.kind ?? "", r.package!, r.installed ? r.version || "yes" : "no", r.source])));
  return 0;
}

/** What to hand the package manager for one `install` argument. */
export function installSpec(arg: string): string {
  if (arg.startsWith(".") || isAbsolute(arg) || arg.endsWith(".tgz") || arg.endsWith(".tar.gz") || arg.startsWith("file:")) {
    const path = arg.startsWith("file:") ? arg.slice(5) : arg;
    if (!existsSync(resolve(path))) throw new UsageError(`${arg} does not exist.`, "Give a plugin folder or a .tgz made with npm pack.");
    return `file:${resolve(path)}`;
  }
  if (canonicalFlavorOfPackage(arg.replace(/@[^@/]+$/, "")) !== undefined || arg.includes("/")) return arg;
  const [, flavor = "", version] = /^([^@]*)(@.+)?$/.exec(arg.trim()) ?? [];
  let entry: ReturnType<typeof firstPartyFlavor>;
  try {
    entry = firstPartyFlavor(flavor);
  } catch {
    throw new UsageError(`Invalid flavor "${arg}".`, "Give a flavor (kubernetes, local_docker), a package name or a path.");
  }
  if (!entry) {
    // Only packages this repository publishes are installed by flavor name; anything else is named in full.
    const known = FIRST_PARTY_FLAVORS.map((e) => displayFlavor(e.flavor)).join(", ");
    throw new UsageError(
      `orch publishes no plugin for flavor "${flavor}" (first-party flavors: ${known}).`,
      `Install a third-party plugin by its package name (by convention ${pluginCandidates(flavor).slice(1).join(" or ")} or @scope/orch-plugin-${flavor.toLowerCase().replace(/_/g, "-")}), or give a path or .tgz.`,
    );
  }
  return `${entry.package}${version ?? ""}`;
}

async function packageManagerCommand(root: string, verb: "add" | "remove", specs: string[]): Promise<[string, string[]]> {
  const { detectPackageManager } = await import("@orch/core/host");
  const manager = detectPackageManager(root);
  if (manager === "npm") return ["npm", [verb === "add" ? "install" : "uninstall", "--no-audit", "--no-fund", ...specs]];
  return [manager, [verb, ...specs]];
}

async function runManager(command: string, args: string[], root: string, dryRun: boolean | undefined): Promise<void> {
  note(`$ ${command} ${args.join(" ")}`);
  if (dryRun) return;
  const { execa } = await import("execa");
  // Never prompt: no stdin, CI mode.
  const result = await execa(command, args, { cwd: root, stdin: "ignore", stdout: ["pipe"], stderr: ["pipe"], reject: false, env: { CI: "true" } });
  if (result.stdout) process.stderr.write(`${result.stdout}\n`);
  if (result.exitCode !== 0) {
    const detail = String(result.stderr || result.stdout || result.shortMessage).trim().split("\n").slice(-3).join(" ");
    throw new UsageError(`${command} failed (exit ${result.exitCode ?? "?"}): ${detail}`, `Run it yourself in ${root} to see everything: ${command} ${args.join(" ")}`);
  }
}

export async function install(args: string[], options: { dryRun?: boolean; json?: boolean }): Promise<number> {
  const root = projectRoot();
  const specs = args.map(installSpec);
  const [command, commandArgs] = await packageManagerCommand(root, "add", specs);
  await runManager(command, commandArgs, root, options.dryRun);
  if (options.json) printJson({ installed: options.dryRun ? [] : specs, command: [command, ...commandArgs], dryRun: Boolean(options.dryRun) });
  else if (!options.dryRun) out(`Installed ${args.join(", ")}. Use the flavor by its name, e.g. orch orchestrator register NAME --flavor=FLAVOR (see orch integration list).`);
  return 0;
}

export async function uninstall(args: string[], options: { dryRun?: boolean; json?: boolean }): Promise<number> {
  const root = projectRoot();
  const installed = installedPlugins(root).map((p) => p.name);
  const names = args.map((arg) => {
    if (installed.includes(arg)) return arg;
    let candidates: string[] = [];
    try {
      candidates = pluginCandidates(arg);
    } catch {
      // not a flavor name: only an installed package name matches
    }
    const match = candidates.find((n) => installed.includes(n));
    if (!match) throw new UsageError(`No installed plugin for "${arg}".`, "See installed plugins with: orch integration list");
    return match;
  });
  const [command, commandArgs] = await packageManagerCommand(root, "remove", names);
  await runManager(command, commandArgs, root, options.dryRun);
  if (options.json) printJson({ removed: options.dryRun ? [] : names, command: [command, ...commandArgs], dryRun: Boolean(options.dryRun) });
  else if (!options.dryRun) out(`Removed ${names.join(", ")}.`);
  return 0;
}
