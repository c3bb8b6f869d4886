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
  | "E_ARTIFACT_CORRUPT"
  | "E_ARTIFACT_STREAM"
  | "E_JOURNAL_INVALID"
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
  | "E_IMAGE_PUSH"
  | "E_REGISTRY_AUTH"
  | "E_REGISTRY_UNREACHABLE"
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
  /** The fix, when the error is an OrchError (or has a `hint`). */
  hint?: string;
  stack?: string;
}

/**
 * Describes whatever was thrown: an Error (any realm), but also `throw undefined`, a string, a number
 * or a plain object (shown as JSON, its `message`/`code` used when it has them), so a failed step
 * always says something.
 */
export function toErrorRecord(error: unknown): ErrorRecord {
  if (error instanceof Error || isErrorLike(error)) {
    const e = error as Error & { code?: unknown };
    const name = typeof e.name === "string" && e.name ? e.name : "Error";
    return {
      message: typeof e.message === "string" && e.message ? e.message : `${name} (thrown without a message)`,
      name,
      ...(typeof e.code === "string" ? { code: e.code } : {}),
      ...(typeof (e as { hint?: unknown }).hint === "string" ? { hint: (e as unknown as { hint: string }).hint } : {}),
      ...(typeof e.stack === "string" && e.stack ? { stack: e.stack } : {}),
    };
  }
  if (error === undefined || error === null) return { message: `${String(error)} was thrown (not an Error, so there is no message)`, name: String(error) };
  switch (typeof error) {
    case "string":
      return { message: error || "an empty string was thrown", name: "string" };
    case "number":
    case "boolean":
    case "bigint":
      return { message: `${typeof error} ${String(error)} was thrown`, name: typeof error };
    case "symbol":
      return { message: `${error.toString()} was thrown`, name: "symbol" };
    case "function":
      return { message: `function ${error.name || "(anonymous)"} was thrown`, name: "function" };
  }
  const object = error as Record<string, unknown>;
  const className = object.constructor?.name;
  const name = className && className !== "Object" ? className : "object";
  const code = typeof object.code === "string" ? { code: object.code } : {};
  if (typeof object.message === "string" && object.message) return { message: object.message, name, ...code };
  const custom = object.toString !== Object.prototype.toString && typeof object.toString === "function" ? safe(() => String(object.toString())) : undefined;
  const text = custom ?? safeJson(object);
  return { message: name === "object" ? `object thrown: ${text}` : `${name} thrown: ${text}`, name, ...code };
}

/** A short one-line-or-more text of a thrown value for logs: its stack when it has one. */
export function describeThrown(error: unknown): string {
  const record = toErrorRecord(error);
  return record.stack ?? record.message;
}

function isErrorLike(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string" && typeof (value as { stack?: unknown }).stack === "string";
}

const MAX_THROWN_TEXT = 2000;

function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  const text =
    safe(() =>
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === "bigint") return `${v}n`;
        if (typeof v === "object" && v !== null) {
          if (seen.has(v)) return "[Circular]";
          seen.add(v);
        }
        return v;
      }),
    ) ?? "(cannot be shown)";
  return text.length > MAX_THROWN_TEXT ? `${text.slice(0, MAX_THROWN_TEXT)}…` : text;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
