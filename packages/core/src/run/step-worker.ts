/**
 * Entry of a step worker thread (see isolated-attempt.ts): runs ONE attempt of a step away from the
 * run's main thread, so that the attempt can be terminated — a timeout or a stop ends even a
 * synchronous busy loop. It loads the step's module the way orch-entrypoint does (load-source.ts),
 * loads the inputs from the artifact store, runs the function with a step context, saves the
 * outputs and runs `onSuccess`; the main thread keeps retries, the step record and the cache.
 */
import { parentPort, workerData } from "node:worker_threads";
import { OrchError, toErrorRecord } from "../errors.js";
import { loadOutput } from "../artifacts/artifact-io.js";
import { createArtifactStore } from "../plugins/stack.js";
import { parkNestedRunsWhileLoading } from "./entrypoint-state.js";
import type { AttemptRequest, WorkerMessage, ParentMessage } from "./isolated-attempt.js";
import { setCompiledModuleRoot } from "./compiled-modules.js";
import { loadStepDefinitions } from "./load-source.js";
import { runWithStepContext, type StepContext } from "./step-context.js";
import { runStepHook, saveOutputs } from "./step-runner.js";

const port = parentPort!;
const request = workerData as AttemptRequest;
const post = (message: WorkerMessage) => port.postMessage(message);

const controller = new AbortController();
port.on("message", (message: ParentMessage) => {
  if (message.type === "abort") controller.abort(Object.assign(new OrchError("E_CANCELLED", { message: message.reason.message }), message.reason));
});

async function main(): Promise<void> {
  parkNestedRunsWhileLoading();
  setCompiledModuleRoot(request.compiledRoot);
  let definition;
  try {
    definition = (await loadStepDefinitions([request.step], request.projectRoot)).get(request.step.id)!;
  } catch (error) {
    post({ type: "unavailable", error: toErrorRecord(error) });
    return;
  }
  try {
    const { store } = await createArtifactStore(request.store as never, request.projectRoot);
    const args = await Promise.all(
      request.inputs.map((input) => (input.kind === "artifact" ? loadOutput(store, input) : input.kind === "param" ? input.value : undefined)),
    );
    const log = (level: "debug" | "info" | "warn" | "error") => (message: string) => post({ type: "log", level, message: String(message) });
    const context: StepContext = {
      runId: request.runId,
      stepId: request.step.id,
      stepName: request.step.name,
      pipelineName: request.pipelineName,
      attempt: request.attempt,
      signal: controller.signal,
      logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
      addMetadata: (metadata) => post({ type: "metadata", metadata }),
    };
    post({ type: "started" });
    const value = await runWithStepContext(context, async () => definition.fn(...args));
    const outputs = await saveOutputs(store, request.step, value, request.runId);
    await runStepHook("onSuccess", context, () => definition.onSuccess?.(context, value), context.logger);
    post({ type: "succeeded", outputs });
  } catch (error) {
    post({ type: "failed", error: toErrorRecord(error) });
  }
}

await main();
