/**
 * The `orch` command line. Only commander is loaded up front; each command's module (and with it
 * @orch/core, SQLite, tsx …) is imported when that command runs, so `orch --help` starts fast.
 */
import { Command, CommanderError, Option } from "commander";
import { clipUserInput, handleError, reportError } from "./errors.js";
import { reserveStdoutForJson, writeStdout } from "./output.js";

type Loader = () => Promise<Record<string, any>>;

const load = {
  init: () => import("./commands/init.js"),
  components: () => import("./commands/components.js"),
  stacks: () => import("./commands/stacks.js"),
  integrations: () => import("./commands/integrations.js"),
  pipelines: () => import("./commands/pipelines.js"),
  runs: () => import("./commands/runs.js"),
  schedules: () => import("./commands/schedules.js"),
  dashboard: () => import("./commands/dashboard.js"),
} satisfies Record<string, Loader>;

/** Set by commands that run user code (pipeline run, run resume): the process exits when they are done. */
let exitWhenDone = false;

/**
 * An action that imports its module on first use, then calls `name(...args)`; exit code from the result.
 * `runsUserCode`: the command runs pipeline steps here, whose leftovers (a DB pool's interval, a
 * keep-alive agent, a timer of an abandoned step) must not keep the CLI alive once the run is over.
 */
function lazy(loader: Loader, name: string, options: { runsUserCode?: boolean } = {}) {
  return async (...args: unknown[]) => {
    // commander passes (...arguments, options, command)
    if ((args[args.length - 2] as { json?: boolean } | undefined)?.json) reserveStdoutForJson();
    if (options.runsUserCode) exitWhenDone = true;
    const module = await loader();
    const code: unknown = await module[name](...args);
    if (typeof code === "number") process.exitCode = code;
  };
}

const json = (description = "print machine-readable JSON on stdout (errors too: { \"error\": { code, message, hint } })") => new Option("--json", description);

export function buildProgram(): Command {
  const program = new Command("orch")
    .description("Run typed TypeScript ML pipelines on any orchestrator by switching the active stack.")
    .version(VERSION, "-V, --version")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: writeStdout, writeErr: (text) => process.stderr.write(text), outputError: (text, write) => write(usageError(text)) })
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      "after",
      `
Exit codes: 0 success, 1 the run failed, 2 usage or configuration error.
The project is the nearest folder upwards holding .orch/ (ORCH_HOME=/path/to/.orch overrides).
NO_COLOR=1 turns colours off. Docs: packages/cli/README.md`,
    );

  program
    .command("init")
    .description("create .orch/ here: the metadata index (orch.db), the default stack and the local artifact store (.orch/artifacts)")
    .option("--repair", "rebuild a damaged index: move orch.db to a timestamped backup, create a fresh one (copying stacks it can still read) and re-read runs from the journal")
    .addOption(json())
    .action(lazy(load.init, "init"));

  for (const kind of ["orchestrator", "artifact-store", "container-registry"] as const) {
    const noun = kind.replace("-", " ");
    const nouns = noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`;
    const group = program.command(kind).description(`register and manage ${nouns} (stack components)`);
    group
      .command("register <name>")
      .description(`register a ${noun}; further --key=value options are the flavor's config (snake_case or camelCase keys)`)
      .requiredOption("-f, --flavor <flavor>", "flavor id, e.g. local, kubernetes, local_docker")
      .option("--package <pkg>", "package or module path that provides the flavor (default: found by naming convention)")
      .allowUnknownOption()
      .allowExcessArguments()
      .addOption(json())
      .action(lazy(load.components, kind === "orchestrator" ? "registerOrchestrator" : kind === "artifact-store" ? "registerArtifactStore" : "registerContainerRegistry"));
    group.command("list").alias("ls").description(`list ${nouns}`).addOption(json()).action(lazy(load.components, kindAction(kind, "list")));
    group.command("describe <name>").description(`show a ${noun}'s flavor and config (secret values redacted)`).addOption(json()).action(lazy(load.components, kindAction(kind, "describe")));
    group
      .command("update <name>")
      .description(`change config keys of a ${noun}: --key=value sets, --unset key removes`)
      .option("--unset <key...>", "config keys to remove")
      .allowUnknownOption()
      .allowExcessArguments()
      .addOption(json())
      .action(lazy(load.components, kindAction(kind, "update")));
    group.command("delete <name>").alias("rm").description(`delete a ${noun} that no stack uses`).addOption(json()).action(lazy(load.components, kindAction(kind, "delete")));
    group
      .command("flavor")
      .description(`${noun} flavors`)
      .command("list")
      .description(`list ${noun} flavors: first-party, installed and third-party (orch-plugin-*)`)
      .addOption(json())
      .action(lazy(load.components, kindAction(kind, "flavors")));
  }

  const stack = program.command("stack").description("register, switch and manage stacks (orchestrator + artifact store [+ container registry])");
  stack
    .command("register <name>")
    .description("register a stack from registered components")
    .requiredOption("-o, --orchestrator <name>", "orchestrator component")
    .option("-a, --artifact-store <name>", "artifact store component", "default")
    .option("-c, --container-registry <name>", "container registry component")
    .option("--set", "also make it the active stack")
    .addOption(json())
    .action(lazy(load.stacks, "register"));
  stack.command("list").alias("ls").description("list stacks; the active one is marked with *").addOption(json()).action(lazy(load.stacks, "list"));
  stack.command("describe [name]").description("show a stack's components (default: the active stack)").addOption(json()).action(lazy(load.stacks, "describe"));
  stack.command("copy <source> <target>").description("copy a stack under a new name (same components)").addOption(json()).action(lazy(load.stacks, "copy"));
  stack
    .command("update <name>")
    .description("point a stack at other components")
    .option("-o, --orchestrator <name>", "orchestrator component")
    .option("-a, --artifact-store <name>", "artifact store component")
    .option("-c, --container-registry <name>", "container registry component")
    .option("--remove-container-registry", "remove the stack's container registry")
    .addOption(json())
    .action(lazy(load.stacks, "update"));
  stack.command("set <name>").description("make a stack the active one (used by orch pipeline run and pipeline.run())").addOption(json()).action(lazy(load.stacks, "set"));
  stack.command("delete <name>").alias("rm").description("delete a stack (not the active one)").addOption(json()).action(lazy(load.stacks, "remove"));

  const integration = program.command("integration").description("install and remove orchestrator plugins (@orch/plugin-<flavor>) with the project's package manager");
  integration.command("list").alias("ls").description("list first-party flavors and installed plugins, third-party orch-plugin-* included").addOption(json()).action(lazy(load.integrations, "list"));
  integration
    .command("install <flavor...>")
    .description("install plugins: a flavor (kubernetes → @orch/plugin-kubernetes), a package name, a local folder or a .tgz; never prompts")
    .option("--dry-run", "print the install command instead of running it")
    .addOption(json())
    .action(lazy(load.integrations, "install"));
  integration
    .command("uninstall <flavor...>")
    .description("remove plugins installed by flavor or package name")
    .option("--dry-run", "print the command instead of running it")
    .addOption(json())
    .action(lazy(load.integrations, "uninstall"));

  const pipeline = program.command("pipeline").description("run, compile and list pipelines");
  pipeline
    .command("run <file>")
    .description(
      "run a pipeline from a TypeScript/JavaScript file: FILE#export, or FILE's single exported pipeline. " +
        "A pipeline with a schedule is registered instead of run (in the index for local/local_docker, started by `orch schedule serve`; " +
        "with the orchestrator's own scheduler otherwise) unless --now is given",
    )
    .option("-s, --stack <name>", "stack to run on (default: the active stack)")
    .option("-p, --param <key=value...>", "pipeline parameter; the value is parsed as JSON when it can be (5, true, [1,2]), else a string")
    .option("--config <file>", "run config YAML: { parameters: {...}, stack: name }")
    .option("--now", "run now even if the pipeline has a schedule")
    .option("--run-id <id>", "use this run id")
    .addOption(new Option("--schedule-id <id>", "record the run as started by this schedule").hideHelp())
    .addOption(json())
    .action(lazy(load.pipelines, "run", { runsUserCode: true }));
  pipeline
    .command("compile <file>")
    .description("write the native files (KFP IR, Airflow DAG, manifests …) of the stack's orchestrator for a pipeline, plus snapshot.json")
    .option("-s, --stack <name>", "stack whose orchestrator compiles (default: the active stack)")
    .requiredOption("-o, --out <dir>", "output folder")
    .option("-p, --param <key=value...>", "pipeline parameter")
    .option("--config <file>", "run config YAML: { parameters: {...} }")
    .addOption(json())
    .action(lazy(load.pipelines, "compile"));
  pipeline.command("list").alias("ls").description("list pipelines that were run or scheduled in this project").addOption(json()).action(lazy(load.pipelines, "list"));

  const run = program.command("run").description("inspect and control pipeline runs");
  run
    .command("list")
    .alias("ls")
    .description("list runs, newest first (runs whose process died are shown failed (interrupted))")
    .option("--pipeline <name>", "only this pipeline")
    .option("--status <status>", "running | succeeded | failed | stopped | interrupted")
    .option("--stack <name>", "only runs on this stack")
    .option("-n, --limit <n>", "at most n runs", "50")
    .option("--all", "all runs")
    .option("--sync", "re-read every run from the journals of the registered artifact stores, buckets included (by default: new or unfinished runs in local stores only)")
    .addOption(json())
    .action(lazy(load.runs, "list"));
  run.command("show <id>").description("draw a run's DAG with each step's status and duration (id or unique prefix)").addOption(json()).action(lazy(load.runs, "show"));
  run
    .command("logs <id>")
    .description("print a run's step logs")
    .option("--step <step>", "only this step")
    .option("-f, --follow", "keep printing until the run ends")
    .addOption(json('print JSON lines on stdout: { "step", "line" } per log line'))
    .action(lazy(load.runs, "logs"));
  run
    .command("stop <id>")
    .description(
      "ask a running run to stop: no new steps start, running steps see the stop. A local run whose process does not end it within the grace period " +
        "(a step busy in synchronous code) is killed and recorded stopped",
    )
    .option("--grace <seconds>", "seconds a local run's process gets to stop before it is killed", "10")
    .addOption(json())
    .action(lazy(load.runs, "stop"));
  run.command("resume <id>").description("re-run a failed, stopped or interrupted run under the same id, reusing every step that already succeeded").addOption(json()).action(lazy(load.runs, "resume", { runsUserCode: true }));
  run.command("delete <id>").alias("rm").description("delete a finished run from the index and its journal (artifacts stay)").addOption(json()).action(lazy(load.runs, "remove"));

  const schedule = program.command("schedule").description("list, delete and serve pipeline schedules");
  schedule.command("list").alias("ls").description("list schedules with their next and last run").addOption(json()).action(lazy(load.schedules, "list"));
  schedule.command("delete <id>").alias("rm").description("delete a schedule (also from the orchestrator's own scheduler)").addOption(json()).action(lazy(load.schedules, "remove"));
  schedule
    .command("serve")
    .description(
      "run in the foreground and start the runs of schedules on stacks without a native scheduler (local, local_docker): cron, interval and run-once; " +
        "missed runs per `catchup`; no overlapping runs of one schedule unless `allowOverlap`. Ctrl-C stops",
    )
    .option("--poll <ms>", "how often to check schedules", "1000")
    .addOption(json("errors as JSON on stdout; the server's own notes go to stderr"))
    .action(lazy(load.schedules, "serve"));

  program
    .command("up")
    .description(
      "serve the dashboard of this project's runs (live DAGs, step logs, artifact previews, pipelines, stacks) on http://127.0.0.1:8237 until Ctrl-C or `orch down`; " +
        "prints the URL with a per-start token, which the stop/resume/delete buttons need (without it the pages are read-only)",
    )
    .option("--port <n>", "port to listen on (0: any free port)", "8237")
    .option("--host <address>", "address to listen on; anything but loopback lets other machines read the dashboard (a warning is printed)", "127.0.0.1")
    .option("--open", "open the dashboard in the default browser")
    .addOption(json('print { url, urlWithToken, host, port, pid } on stdout once it listens'))
    .action(lazy(load.dashboard, "up"));
  program.command("down").description("stop the dashboard that `orch up` serves for this project").addOption(json()).action(lazy(load.dashboard, "down"));

  return program;
}

/** Commander's own errors in orch's shape: `error: …` then `hint: …`. */
function usageError(text: string): string {
  const { message, hint } = parseUsageError(text);
  return `error: ${message}\nhint: ${hint}\n`;
}

function parseUsageError(text: string): { message: string; hint: string } {
  const lines = text.trim().split("\n");
  const message = clipUserInput(lines[0]!.replace(/^error: /, ""));
  const suggestion = /\(Did you mean (.+)\?\)/.exec(text)?.[1];
  const hint = suggestion ? `Did you mean ${suggestion}? See orch --help.` : "See the command's --help.";
  return { message, hint };
}

/** `--json` anywhere before a `--`: stdout is for JSON only, from the very start (errors of argument parsing included). */
function wantsJson(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}

/**
 * `orch run list | head -1`: the reader went away. Stop quietly (no EPIPE stack trace); the exit code
 * is what the command had so far.
 */
let pipeGuarded = false;
function exitQuietlyOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

function kindAction(kind: string, action: string): string {
  const prefix = kind === "orchestrator" ? "orchestrator" : kind === "artifact-store" ? "artifactStore" : "containerRegistry";
  return `${prefix}${action[0]!.toUpperCase()}${action.slice(1)}`;
}

declare const __ORCH_CLI_VERSION__: string | undefined;
const VERSION = typeof __ORCH_CLI_VERSION__ === "string" ? __ORCH_CLI_VERSION__ : "0.1.0";

export async function main(argv = process.argv): Promise<void> {
  exitQuietlyOnClosedPipe();
  if (wantsJson(argv.slice(2))) reserveStdoutForJson();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every other commander error is a usage error (already printed on stderr)
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      if (process.exitCode !== 0) {
        const { message, hint } = parseUsageError(error.message);
        reportError({ code: "E_USAGE", message, hint, exitCode: 2 }, undefined, { stderr: false });
      }
      return;
    }
    process.exitCode = await handleError(error);
  }
  // NOTE: with --json, stdout stays reserved after main() returns: user code (a timer, a worker
  // thread's piped console) may still write while the process winds down. Embedders call releaseStdout().
  if (exitWhenDone) await exitAfterFlush();
}

/** Exits with process.exitCode once everything written to stdout/stderr has been handed to the OS. */
async function exitAfterFlush(): Promise<never> {
  const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => (stream.writableLength === 0 ? resolve() : stream.write("", () => resolve())));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit();
}
