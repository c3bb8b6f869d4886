import { statSync, statfsSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { OrchError } from "../errors.js";

/**
 * Pseudo file systems (statfs f_type): files there are kernel views, not storage. Node's recursive
 * mkdir loops forever (at 100% CPU, deaf to SIGTERM) under /proc, where mkdir fails with ENOENT on
 * a parent that exists, so such paths are refused before anything is written.
 */
const PSEUDO_FILE_SYSTEMS: Record<number, string> = {
  0x9fa0: "proc",
  0x62656572: "sysfs",
  0x1cd1: "devpts",
  0x27e0eb: "cgroup",
  0x63677270: "cgroup2",
  0x64626720: "debugfs",
  0x74726163: "tracefs",
  0x73636673: "securityfs",
  0xcafe4a11: "bpf",
  0x62656570: "configfs",
  0x6165676c: "pstore",
  0xde5e81e4: "efivarfs",
};
const PSEUDO_PREFIXES = ["/proc", "/sys"];

/**
 * Checks that a local artifact store folder can hold files: not on a pseudo file system (/proc,
 * /sys …) and not below a regular file (ENOTDIR). Looks only at the nearest existing ancestor.
 */
export function assertUsableStorePath(root: string): void {
  const path = resolve(root);
  const fail = (problem: string, hint: string): never => {
    throw new OrchError("E_STORE_PATH_INVALID", { message: `Local artifact store path ${path} ${problem}.`, hint, key: "path" });
  };
  const pseudoPrefix = PSEUDO_PREFIXES.find((prefix) => path === prefix || path.startsWith(`${prefix}${sep}`));
  if (pseudoPrefix) fail(`is under ${pseudoPrefix}, a kernel pseudo file system that cannot store files`, "Point the artifact store at a normal folder, e.g. .orch/artifacts (orch artifact-store update NAME --path=…).");
  let existing = path;
  for (;;) {
    try {
      const stats = statSync(existing);
      if (!stats.isDirectory()) fail(existing === path ? "is a file, not a folder" : `is below ${existing}, which is a file, not a folder`, "Point the artifact store at a folder (orch artifact-store update NAME --path=…), or move that file away.");
      break;
    } catch (error) {
      if (error instanceof OrchError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") break; // EACCES etc.: the write reports it with its path
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  try {
    const type = PSEUDO_FILE_SYSTEMS[Number(statfsSync(existing).type)];
    if (type) fail(`is on a ${type} pseudo file system (at ${existing}), which cannot store files`, "Point the artifact store at a normal folder, e.g. .orch/artifacts (orch artifact-store update NAME --path=…).");
  } catch (error) {
    if (error instanceof OrchError) throw error; // statfs unsupported: the prefix check above is what we have
  }
}
