/**
 * `orch up` / `orch down`: the dashboard (@orch/dashboard, loaded only here) for the current project.
 *
 * `orch up` writes `.orch/dashboard.json` (pid, its start time, URL — never the token) so `orch down`
 * can find and stop it; a second `orch up` in the same project is refused while the first lives.
 * The dashboard's stop / resume / delete buttons run this same CLI as a child process (`orch run stop
 * ID --json` …), so they behave exactly like the commands.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectPackageManager, installCommand, isProcessAlive, processStartTime } from "@orch/core/host/light";
import { openProjectIndex, reconcileRuns, requireProject, syncRunsFromJournals, type Project } from "../context.js";
import { UsageError } from "../errors.js";
import { note, out, printJson } from "../output.js";
import { BIN_PATH } from "../paths.js";

interface DashboardRecord {
  pid: number;
  pidStartTime?: string | undefined;
  url: string;
  host: string;
  port: number;
  startedAt: string;
}

const recordFile = (project: Project) => join(project.home, "dashboard.json");

function readRecord(project: Project): DashboardRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(project), "utf8")) as DashboardRecord;
  } catch {
    return undefined;
  }
}

const alive = (record: DashboardRecord) => isProcessAlive(record.pid, record.pidStartTime);

export async function up(options: { port?: string; host?: string; open?: boolean; json?: boolean }): Promise<number> {
  const port = Number(options.port ?? 8237);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0-65535), got "${options.port}".`, "For example --port 8237, or --port 0 for any free port.");
  const host = (options.host ?? "127.0.0.1").trim();
  if (!host) throw new UsageError("--host is empty.", "Leave it out to serve on 127.0.0.1 (this machine only).");
  const project = requireProject();
  const running = readRecord(project);
  if (running && alive(running)) {
    throw new UsageError(`A dashboard already runs for this project at ${running.url} (pid ${running.pid}).`, "Open that one, or stop it first: orch down");
  }
  const { startDashboard, isLoopback } = await loadDashboard(project);
  if (!isLoopback(host)) {
    note(`warning: serving on ${host}: anyone who can reach this machine on port ${port} can read this project's runs, logs and artifacts. Stop, resume and delete still need the token.`);
  }
  const index = openProjectIndex(project);
  let dashboard;
  try {
    dashboard = await startDashboard({
      index,
      project,
      host,
      port,
      refresh: () => {
        syncRunsFromJournals(index, project);
        reconcileRuns(index);
      },
      actions: {
        stop: (runId) => runCli(["run", "stop", runId, "--json"]),
        delete: (runId) => runCli(["run", "delete", runId, "--json"]),
        resume: (runId) => resumeInBackground(project, runId, () => index.getRun(runId)?.status),
      },
    });
  } catch (error) {
    index.close();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw new UsageError(`Port ${port} on ${host} is already in use.`, `Pick another: orch up --port ${port + 1} (or --port 0 for any free port).`);
    if ((error as NodeJS.ErrnoException).code === "EADDRNOTAVAIL") throw new UsageError(`Cannot listen on ${host}: no such address on this machine.`, "Use 127.0.0.1 (the default), or an address of this machine.");
    throw error;
  }
  const record: DashboardRecord = { pid: process.pid, pidStartTime: processStartTime(process.pid), url: dashboard.url, host: dashboard.host, port: dashboard.port, startedAt: new Date().toISOString() };
  writeFileSync(recordFile(project), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  if (options.json) printJson({ url: dashboard.url, urlWithToken: dashboard.urlWithToken, host: dashboard.host, port: dashboard.port, pid: process.pid });
  else {
    out(`orch dashboard for ${project.root}`);
    out(`  ${dashboard.urlWithToken}`);
    out(`Without the token the pages are read-only. Ctrl-C or \`orch down\` stops it.`);
  }
  if (options.open) openBrowser(dashboard.urlWithToken);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await dashboard.close();
  index.close();
  if (readRecord(project)?.pid === process.pid) rmSync(recordFile(project), { force: true });
  if (!options.json) note("Dashboard stopped.");
  return 0;
}

export async function down(options: { json?: boolean }): Promise<number> {
  const project = requireProject();
  const record = readRecord(project);
  if (!record || !alive(record)) {
    rmSync(recordFile(project), { force: true });
    const message = record ? `No dashboard is running for this project (the one at ${record.url}, pid ${record.pid}, has ended).` : "No dashboard is running for this project.";
    if (options.json) printJson({ stopped: false, message });
    else out(`${message} Start one with: orch up`);
    return 0;
  }
  process.kill(record.pid, "SIGTERM");
  for (let i = 0; i < 50 && alive(record); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(record)) process.kill(record.pid, "SIGKILL");
  rmSync(recordFile(project), { force: true });
  if (options.json) printJson({ stopped: true, url: record.url, pid: record.pid });
  else out(`Stopped the dashboard at ${record.url} (pid ${record.pid}).`);
  return 0;
}

/**
 * @orch/dashboard is an optional peer of the CLI (users who never run `orch up` do not install its
 * layout library): a missing one is a usage error with the install command.
 */
async function loadDashboard(project: Project) {
  try {
    return await import("@orch/dashboard");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && String((error as Error).message).includes("@orch/dashboard")) {
      throw new UsageError("`orch up` needs the @orch/dashboard package, which is not installed in this project.", `Install it: ${installCommand(detectPackageManager(project.root), "@orch/dashboard")}`);
    }
    throw error;
  }
}

/** Runs `orch ARGS` (this CLI) and turns its `--json` answer into the dashboard's outcome. */
function runCli(args: string[]): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN_PATH, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", (error) => resolve({ ok: false, message: error.message }));
    child.on("close", (code) => {
      let answer: { error?: { message: string; hint?: string }; displayStatus?: string; status?: string; deleted?: boolean; stopping?: boolean } = {};
      try {
        answer = JSON.parse(stdout);
      } catch {
        // no JSON: the message is on stderr
      }
      if (code === 0) {
        const what = answer.deleted ? "deleted" : answer.stopping ? "stopping" : (answer.displayStatus ?? answer.status ?? "done");
        resolve({ ok: true, message: `Run ${args[2]} ${what}.` });
      } else resolve({ ok: false, message: answer.error ? `${answer.error.message}${answer.error.hint ? ` ${answer.error.hint}` : ""}` : stderr.trim().split("\n")[0] || `orch ${args.slice(0, 2).join(" ")} exited with ${code}` });
    });
  });
}

/**
 * `orch run resume ID` in a background process (it runs the pipeline, which may take hours); its
 * output goes to `.orch/logs/resume-ID.log`. Answers once the run is running again or the resume failed.
 */
async function resumeInBackground(project: Project, runId: string, status: () => string | undefined): Promise<{ ok: boolean; message: string }> {
  const logDir = join(project.home, "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `resume-${runId}.log`);
  const fd = openSync(logFile, "w");
  const child = spawn(process.execPath, [BIN_PATH, "run", "resume", runId, "--json"], { stdio: ["ignore", fd, fd], detached: true, env: { ...process.env, NO_COLOR: "1" } });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on("exit", (code) => (exited = code));
  child.unref();
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (status() === "running") return { ok: true, message: `Run ${runId} resumed (output: ${logFile}).` };
    if (exited !== undefined) {
      if (exited === 0) return { ok: true, message: `Run ${runId} resumed and finished.` };
      let message = `orch run resume exited with ${exited}; see ${logFile}.`;
      try {
        const text = readFileSync(logFile, "utf8");
        const json = JSON.parse(text.slice(text.indexOf("{"))) as { error?: { message: string } };
        if (json.error) message = json.error.message;
      } catch {
        // keep the generic message
      }
      return { ok: false, message };
    }
  }
  return { ok: true, message: `Resuming run ${runId} (output: ${logFile}).` };
}

function openBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "cmd" : "xdg-open";
  const args = process.platform === "win32" ? ["/c", "start", "", url] : [url];
  try {
    const child = spawn(command, args, { stdio: "ignore", detached: true });
    child.on("error", () => note(`Could not open a browser (${command}); open the URL above yourself.`));
    child.unref();
  } catch {
    note("Could not open a browser; open the URL above yourself.");
  }
}
