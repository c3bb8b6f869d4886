import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export type PackageManager = "pnpm" | "npm" | "yarn" | "bun";

const LOCKFILES: [string, PackageManager][] = [
  ["pnpm-lock.yaml", "pnpm"],
  ["yarn.lock", "yarn"],
  ["bun.lockb", "bun"],
  ["bun.lock", "bun"],
  ["package-lock.json", "npm"],
];

/** The project's package manager: `packageManager` in package.json, else a lockfile, walking upwards. */
export function detectPackageManager(projectRoot: string): PackageManager {
  let dir = projectRoot;
  for (;;) {
    const declared = declaredPackageManager(join(dir, "package.json"));
    if (declared) return declared;
    for (const [file, manager] of LOCKFILES) if (existsSync(join(dir, file))) return manager;
    const parent = dirname(dir);
    if (parent === dir) return "npm";
    dir = parent;
  }
}

function declaredPackageManager(packageJson: string): PackageManager | undefined {
  try {
    const name = String(JSON.parse(readFileSync(packageJson, "utf8")).packageManager ?? "").split("@")[0];
    return (["pnpm", "npm", "yarn", "bun"] as const).find((m) => m === name);
  } catch {
    return undefined;
  }
}

/** The exact command that adds `pkg` to the project. */
export function installCommand(manager: PackageManager, pkg: string): string {
  return manager === "npm" ? `npm install ${pkg}` : `${manager} add ${pkg}`;
}
