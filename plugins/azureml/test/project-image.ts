/**
 * What the project image holds, as a folder on this machine: the quickstart's sources and its installed
 * packages, plus the artifact-store plugin of the stack (@orch/plugin-azure) that a real image installs
 * with the project. The loopback server runs each command job with this folder as --project-root.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
export const QUICKSTART_ROOT = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url)).replace(/\/$/, "");
const AZURE_PLUGIN = join(pluginRoot, "..", "azure");

/** A copy of `source` (default: the quickstart) with its node_modules linked and @orch/plugin-azure added. */
export function imageProject(source = QUICKSTART_ROOT): { root: string; remove(): void } {
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  const root = mkdtempSync(join(pluginRoot, ".tmp", "image-"));
  for (const entry of readdirSync(source)) {
    if (entry === "node_modules") continue;
    cpSync(join(source, entry), join(root, entry), { recursive: true });
  }
  const modules = join(source, "node_modules");
  mkdirSync(join(root, "node_modules", "@orch"), { recursive: true });
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith(".")) continue;
    if (entry.startsWith("@")) {
      mkdirSync(join(root, "node_modules", entry), { recursive: true });
      for (const scoped of readdirSync(join(modules, entry))) symlinkSync(realpathSync(join(modules, entry, scoped)), join(root, "node_modules", entry, scoped), "dir");
    } else symlinkSync(realpathSync(join(modules, entry)), join(root, "node_modules", entry), "dir");
  }
  symlinkSync(AZURE_PLUGIN, join(root, "node_modules", "@orch", "plugin-azure"), "dir");
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
