import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  entrypointCommand,
  findCoreDirectory,
  processRunControls,
  runOnCoreScheduler,
  stepCommand,
  type LaunchRequest,
  type LaunchResult,
  type Orchestrator,
  type PluginContext,
} from "@orch/core/plugin";
import { FLAVOR, type SubprocessOrchestratorConfig } from "./config.js";

/**
 * Runs a snapshot with core's scheduler (`runOnCoreScheduler`) and starts each step as
 * `node <orch-entrypoint> step --run-id … --step …` (`stepCommand`) in its own process. The child
 * reads the snapshot and upstream outputs from the artifact store and writes its own step record,
 * log and outputs there, exactly as a container would. All this plugin adds is the child process.
 */
export function createOrchestrator(config: SubprocessOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  let entrypoint: string[] | undefined;

  const launch = (request: LaunchRequest): Promise<LaunchResult> => {
    entrypoint ??= entrypointCommand(findCoreDirectory(context.projectRoot, FLAVOR), { node: process.execPath, tsx: tsxLoader(context.projectRoot), nodeOptions: config.nodeOptions });
    const command = stepCommand({ runId: request.runId, stepId: request.step.id, projectRoot: context.projectRoot, store, entrypoint });
    const [node, ...args] = command.argv;
    return new Promise((resolve) => {
      const child = spawn(node!, args, { cwd: context.projectRoot, env: { ...process.env, ...config.env, ...command.env }, stdio: ["ignore", "pipe", "pipe"] });
      const stderrTail: string[] = [];
      const forward = (stream: NodeJS.ReadableStream, keep: boolean) => {
        let buffer = "";
        stream.setEncoding?.("utf8");
        stream.on("data", (chunk: string) => {
          buffer += chunk;
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          for (const line of lines) {
            request.writeLog(line);
            if (keep) {
              stderrTail.push(line);
              if (stderrTail.length > 20) stderrTail.shift();
            }
          }
        });
        stream.on("end", () => buffer && request.writeLog(buffer));
      };
      forward(child.stdout, false);
      forward(child.stderr, true);
      // Stopping the run: the child's entrypoint turns SIGTERM into a stopped step record.
      const onAbort = () => child.kill("SIGTERM");
      request.signal.addEventListener("abort", onAbort, { once: true });
      child.on("error", (error) => {
        request.signal.removeEventListener("abort", onAbort);
        resolve({ failureReason: `could not start the step process: ${error.message}` });
      });
      child.on("close", (code, signal) => {
        request.signal.removeEventListener("abort", onAbort);
        if (code === 0) return resolve({});
        const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve({ failureReason: `the step process ${why}${stderrTail.length ? `: ${stderrTail.join("\n")}` : ""}` });
      });
    });
  };

  return {
    flavor: FLAVOR,
    // Dynamic pipelines run their function here; each step they call still gets its own process.
    submit: async (snapshot, submit) => runOnCoreScheduler(snapshot, { plugin: context, submit, flavor: FLAVOR, maxParallelism: config.maxParallelism }, launch),
    ...processRunControls(store),
    async dispose() {
      // Nothing is held between runs: step processes end with their step.
    },
  };
}

/** tsx for a core that runs from TypeScript source (a workspace checkout): the project's, else this plugin's. */
function tsxLoader(projectRoot: string): string {
  for (const base of [join(projectRoot, "package.json"), new URL(import.meta.url).pathname]) {
    try {
      return pathToFileURL(createRequire(base).resolve("tsx")).href;
    } catch {
      // try the next place
    }
  }
  return "tsx";
}
