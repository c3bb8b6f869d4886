import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  OrchError,
  executeRun,
  processRunControls,
  type LaunchRequest,
  type LaunchResult,
  type Orchestrator,
  type PluginContext,
} from "@orch/core";
import type { SubprocessOrchestratorConfig } from "./index.js";

/** How to start `orch-entrypoint`: node flags plus the bin file. */
interface Entrypoint {
  nodeArgs: string[];
  bin: string;
}

/**
 * Runs a snapshot with core's scheduler (`executeRun`) and starts each step as
 * `node <orch-entrypoint> step --run-id … --step …` in its own process. The child reads the snapshot
 * and upstream outputs from the artifact store and writes its own step record, log and outputs there,
 * exactly as a container would.
 */
export function createSubprocessOrchestrator(config: SubprocessOrchestratorConfig, context: PluginContext): Orchestrator {
  const store = context.artifactStore;
  let entrypoint: Entrypoint | undefined;

  const launch = (request: LaunchRequest): Promise<LaunchResult> => {
    entrypoint ??= findEntrypoint(context.projectRoot);
    const args = [
      ...entrypoint.nodeArgs,
      ...config.nodeOptions,
      entrypoint.bin,
      "step",
      "--run-id",
      request.runId,
      "--step",
      request.step.id,
      "--artifact-store",
      JSON.stringify(store.describe()),
      "--project-root",
      context.projectRoot,
    ];
    return new Promise((resolve) => {
      const child = spawn(process.execPath, args, {
        cwd: context.projectRoot,
        env: { ...process.env, ...config.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
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
    flavor: "subprocess",
    async submit(snapshot, submit) {
      const done = executeRun({
        snapshot,
        runId: submit.runId,
        store,
        maxParallelism: config.maxParallelism,
        signal: submit.signal,
        stack: context.stackName,
        orchestrator: "subprocess",
        projectRoot: context.projectRoot,
        launch,
        // Dynamic pipelines run their function here; each step they call still gets its own process.
        ...(submit.pipeline ? { pipeline: submit.pipeline } : {}),
        ...(submit.observer ? { observer: submit.observer } : {}),
        ...(submit.resume ? { resume: true } : {}),
      });
      return { runId: submit.runId, wait: () => done };
    },
    ...processRunControls(store),
    async dispose() {
      // Nothing is held between runs: step processes end with their step.
    },
  };
}

/**
 * Finds core's `orch-entrypoint` next to the @orch/core this plugin uses. A published core ships
 * dist/entrypoint/bin.js; a source checkout (the orch monorepo) runs src/entrypoint/bin.ts through
 * tsx with the `@orch/source` condition, as every orch child process there does.
 */
function findEntrypoint(projectRoot: string): Entrypoint {
  const require = createRequire(import.meta.url);
  const coreRoot = dirname(require.resolve("@orch/core/package.json"));
  const source = join(coreRoot, "src", "entrypoint", "bin.ts");
  if (existsSync(source)) return { nodeArgs: ["--conditions=@orch/source", "--import", tsxLoader(projectRoot)], bin: source };
  const built = join(coreRoot, "dist", "entrypoint", "bin.js");
  if (existsSync(built)) return { nodeArgs: [], bin: built };
  throw new OrchError("E_PLUGIN_INVALID", {
    flavor: "subprocess",
    message: `Cannot find orch-entrypoint in @orch/core at ${coreRoot}.`,
    hint: "Reinstall @orch/core (its dist/entrypoint/bin.js is missing).",
  });
}

function tsxLoader(projectRoot: string): string {
  for (const base of [join(projectRoot, "package.json"), new URL(import.meta.url).pathname]) {
    try {
      return pathToFileURL(createRequire(base).resolve("tsx")).href;
    } catch {
      // try the next place
    }
  }
  throw new OrchError("E_SOURCE_LOAD", {
    flavor: "subprocess",
    message: `@orch/core runs from TypeScript source here, and tsx is not installed in ${projectRoot}.`,
    hint: "Add tsx to the project's devDependencies.",
  });
}
