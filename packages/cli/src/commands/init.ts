import { findProject, initProject } from "../context.js";
import { note, out, printJson } from "../output.js";
import { resolve } from "node:path";

/** orch init: creates .orch/ (index, default stack, local artifact store) in the current folder (or ORCH_HOME). */
export function init(options: { json?: boolean }): number {
  const existing = findProject();
  const home = process.env.ORCH_HOME ? resolve(process.env.ORCH_HOME) : resolve(".orch");
  const root = resolve(home, "..");
  if (existing && existing.home !== home) note(`note: a parent folder already has an orch project (${existing.home}); creating a nested one here.`);
  const { project, created } = initProject(root, home);
  if (options.json) printJson({ home: project.home, index: project.dbFile, created, activeStack: "default" });
  else out(created ? `Initialized orch in ${project.home} (index: orch.db, active stack: default = local orchestrator + local artifact store at .orch/artifacts).` : `orch is already initialized in ${project.home}.`);
  return 0;
}
