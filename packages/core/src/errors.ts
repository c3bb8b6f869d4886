/**
 * Every error a user can cause is an `OrchError`: a stable `code`, a message that names the thing
 * (step, flavor, config key) and a `hint` that says how to fix it. The CLI prints message + hint
 * without a stack trace for these.
 */
export type OrchErrorCode =
  | "E_COMPILE"
  | "E_NAME_INVALID"
  | "E_PARAMS_INVALID"
  | "E_SETTINGS_INVALID"
  | "E_CONFIG_INVALID"
  | "E_SCHEDULE_INVALID"
  | "E_CRON_UNSUPPORTED"
  | "E_MEMORY_INVALID"
  | "E_FLAVOR_NOT_FOUND"
  | "E_PLUGIN_INVALID"
  | "E_PLUGIN_API_MISMATCH"
  | "E_CAPABILITY_UNSUPPORTED"
  | "E_STEP_FAILED"
  | "E_STEP_TIMEOUT"
  | "E_MATERIALIZER"
  | "E_ARTIFACT_NOT_FOUND"
  | "E_RUN_NOT_FOUND"
  | "E_RUN_EXISTS"
  | "E_RUN_LOCKED"
  | "E_STORE_PATH_INVALID"
  | "E_SNAPSHOT_INVALID"
  | "E_SOURCE_LOAD"
  | "E_CANCELLED"
  | "E_STACK_INVALID"
  | "E_BACKEND_UNAVAILABLE"
  | "E_IMAGE_BUILD"
  | "E_USAGE";

export interface OrchErrorDetails {
  message: string;
  hint?: string;
  step?: string;
  flavor?: string;
  key?: string;
  cause?: unknown;
}

export class OrchError extends Error {
  readonly code: OrchErrorCode;
  readonly hint?: string;
  readonly step?: string;
  readonly flavor?: string;
  readonly key?: string;

  constructor(code: OrchErrorCode, details: OrchErrorDetails) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "OrchError";
    this.code = code;
    this.hint = details.hint;
    this.step = details.step;
    this.flavor = details.flavor;
    this.key = details.key;
  }

  /** One line for terminals: message, then the hint when there is one. */
  format(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

export function isOrchError(error: unknown): error is OrchError {
  return error instanceof OrchError || (error instanceof Error && error.name === "OrchError" && "code" in error);
}

/** Serializable description of an error, as stored in step records. */
export interface ErrorRecord {
  message: string;
  code?: string;
  name?: string;
  stack?: string;
}

export function toErrorRecord(error: unknown): ErrorRecord {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message,
      name: error.name,
      ...(typeof code === "string" ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { message: String(error) };
}
