/**
 * True when `timeZone` is an IANA zone the runtime knows (e.g. `"Europe/Berlin"`, `"UTC"`).
 * Validation is delegated to `Intl`, the same database croner uses to compute fire times.
 */
export function isValidTimezone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone });
    return true;
  } catch {
    return false;
  }
}
