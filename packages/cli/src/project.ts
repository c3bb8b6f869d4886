/**
 * Where the project is: the nearest folder upwards holding `.orch/` (or ORCH_HOME). Its own module,
 * importing nothing of the CLI, so that error printing (errors.ts) can name the index file without
 * importing context.ts, which imports errors.ts.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { findUp } from "@orch/core/host/light";

export interface Project {
  /** The folder holding `.orch/` (source paths and plugins are resolved from here). */
  root: string;
  /** The `.orch/` folder. */
  home: string;
  dbFile: string;
}

/**
 * The project: the nearest folder upwards holding `.orch/`. With ORCH_HOME, the state lives there
 * (anywhere) and the project — where plugins are installed and source paths are relative to — is
 * the nearest folder upwards from `cwd` holding a package.json (else `cwd`).
 */
export function findProject(cwd = process.cwd()): Project | undefined {
  if (process.env.ORCH_HOME) {
    const home = resolve(process.env.ORCH_HOME);
    return existsSync(home) ? projectAt(codeRoot(cwd), home) : undefined;
  }
  const dir = findUp(resolve(cwd), ".orch");
  return dir ? projectAt(dir, join(dir, ".orch")) : undefined;
}

/** Where the user's code and its node_modules live: the nearest package.json upwards, else `cwd`. */
export function codeRoot(cwd = process.cwd()): string {
  return findUp(resolve(cwd), "package.json") ?? resolve(cwd);
}

export function projectAt(root: string, home = join(root, ".orch")): Project {
  return { root, home, dbFile: join(home, "orch.db") };
}

