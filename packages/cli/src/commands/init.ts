import { existsSync, renameSync } from "node:fs";
import { resolve } from "node:path";
import { openIndex, salvageIndex } from "@orch/store-sqlite";
import { codeRoot, findProject, initProject, projectAt, syncRunsFromJournals, type Project } from "../context.js";
import { note, out, printJson } from "../output.js";

/** orch init: creates .orch/ (index, default stack, local artifact store) in the current folder (or ORCH_HOME). */
export function init(options: { json?: boolean; repair?: boolean }): number {
  const existing = findProject();
  const home = process.env.ORCH_HOME ? resolve(process.env.ORCH_HOME) : resolve(".orch");
  // With ORCH_HOME the state lives there and the project is where the code is (see findProject).
  const root = process.env.ORCH_HOME ? codeRoot() : resolve(home, "..");
  if (options.repair) return repair(projectAt(root, home), options);
  if (existing && existing.home !== home) note(`note: a parent folder already has an orch project (${existing.home}); creating a nested one here.`);
  const { project, created } = initProject(root, home);
  if (options.json) printJson({ home: project.home, index: project.dbFile, created, activeStack: "default" });
  else out(created ? `Initialized orch in ${project.home} (index: orch.db, active stack: default = local orchestrator + local artifact store at .orch/artifacts).` : `orch is already initialized in ${project.home}.`);
  return 0;
}

/**
 * orch init --repair: a damaged index is moved to `orch.db.corrupt-<time>` (with its -wal/-shm), a
 * fresh one is created with the default stack, the stacks and components still readable in the
 * damaged file are copied over, and runs are re-read from the journals of the local artifact stores.
 * A healthy index is left alone.
 */
function repair(project: Project, options: { json?: boolean }): number {
  if (existsSync(project.dbFile)) {
    try {
      openIndex(project.dbFile).close();
      if (options.json) printJson({ home: project.home, index: project.dbFile, repaired: false });
      else out(`The index ${project.dbFile} is healthy; nothing to repair.`);
      return 0;
    } catch (error) {
      if ((error as { code?: string }).code !== "E_INDEX_CORRUPT") throw error;
    }
  }
  const backup = `${project.dbFile}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const moved = existsSync(project.dbFile);
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(`${project.dbFile}${suffix}`)) renameSync(`${project.dbFile}${suffix}`, `${backup}${suffix}`);
  const salvaged = moved ? salvageIndex(backup) : { components: [], stacks: [] };
  initProject(project.root, project.home);
  const index = openIndex(project.dbFile);
  let stacks = 0;
  try {
    for (const component of salvaged.components) {
      if (!index.getComponent(component.kind, component.name)) index.putComponent(component);
    }
    for (const stack of salvaged.stacks) {
      try {
        if (!index.getStack(stack.name)) (index.putStack(stack), stacks++);
      } catch {
        // its components were not readable
      }
    }
    if (salvaged.activeStack && index.getStack(salvaged.activeStack)) index.setActiveStack(salvaged.activeStack);
    const runs = syncRunsFromJournals(index, project, { full: true });
    const lost = moved && salvaged.stacks.length === 0;
    if (options.json) printJson({ home: project.home, index: project.dbFile, repaired: true, backup: moved ? backup : undefined, stacksRecovered: stacks, runsRecovered: runs });
    else {
      out(`Rebuilt the index ${project.dbFile}${moved ? ` (the damaged file is kept as ${backup})` : ""}.`);
      out(`  runs re-read from the journal: ${runs}`);
      out(lost ? "  stacks: only the default stack; the stacks and components registered in the damaged file could not be read — register them again (orch stack register …)." : `  stacks recovered from the damaged file: ${stacks} (plus the default stack)`);
      out("  schedules kept in the index are not recoverable from the journal: register them again with orch pipeline run.");
    }
    return 0;
  } finally {
    index.close();
  }
}
