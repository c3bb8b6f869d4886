/**
 * Runs the backend names: a schedule's firing is started by the backend (an Azure ML schedule's
 * pipeline job), so the command lines it runs cannot carry a fixed orch run id. Instead the process
 * gets `$ORCH_RUN_ID_FROM`, the name of the environment variable in which the backend names the run
 * (`AZUREML_ROOT_RUN_ID`), and every process of the firing derives the same orch run id from it.
 */
import { OrchError } from "../errors.js";
import { sha256 } from "../hash.js";
import { RUN_ID_PATTERN } from "../names.js";
import { ORCH_ENV } from "./step-command.js";

/**
 * The orch run id of a backend's run name: the name itself when it is a valid run id, else its
 * characters outside [A-Za-z0-9_-] replaced by "-", cut to 50 and followed by a hash of the whole
 * name — deterministic (every process of the run finds the same id), and two names never share one.
 */
export function backendRunId(name: string): string {
  if (RUN_ID_PATTERN.test(name)) return name;
  const cleaned = name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+/, "").slice(0, 50) || "run";
  return `${cleaned}-${sha256(name).slice(0, 12)}`;
}

/**
 * The run id `$ORCH_RUN_ID_FROM` points at, or undefined when it is not set (the run id comes from
 * `--run-id`). A variable it names that is unset or empty is an error: falling back to a shared id
 * would journal every firing into one run.
 */
export function runIdFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const variable = env[ORCH_ENV.runIdFrom];
  if (variable === undefined || variable === "") return undefined;
  const name = env[variable];
  if (name === undefined || name.trim() === "") {
    throw new OrchError("E_USAGE", {
      message: `$${ORCH_ENV.runIdFrom} says the backend names this run in $${variable}, but $${variable} is ${name === undefined ? "not set" : "empty"} in this process's environment.`,
      hint: `Run this command as a node of the backend's pipeline job (which sets $${variable}), or give the run id with --run-id.`,
    });
  }
  return backendRunId(name.trim());
}
