/**
 * Thrown by a conformance check: the message says what the plugin does wrong and how to fix it.
 * `check` names the check (as used in `skip`).
 */
export class ConformanceError extends Error {
  readonly check: string;
  readonly flavor: string | undefined;

  constructor(check: string, flavor: string | undefined, message: string, options?: { cause?: unknown }) {
    super(`[orch testkit] ${check}${flavor ? ` (${flavor})` : ""}: ${message}`, options);
    this.name = "ConformanceError";
    this.check = check;
    this.flavor = flavor;
  }
}

/** Describes an unknown thrown value in one line for a check's message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === "string" ? `${code}: ` : ""}${error.message}`;
  }
  return String(error);
}

/**
 * Thrown by a check that has nothing to verify for this plugin (e.g. `parallel` when the plugin declares
 * `parallel: false`). The suite reports the test as skipped with the reason, never as passed.
 */
export class ConformanceSkip extends Error {
  readonly check: string;
  readonly reason: string;

  constructor(check: string, flavor: string | undefined, reason: string) {
    super(`[orch testkit] ${check}${flavor ? ` (${flavor})` : ""}: skipped — ${reason}`);
    this.name = "ConformanceSkip";
    this.check = check;
    this.reason = reason;
  }
}
