import { readFileSync } from "node:fs";

/**
 * A process's start time, to tell a live process from a new one that reuses its pid: on Linux the
 * `starttime` field of /proc/<pid>/stat (clock ticks since boot, as text); `undefined` where that is
 * not available (other systems, hidden /proc), in which case only the pid is compared.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) is in parentheses and may hold spaces or ")": fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // field 22 overall: fields[0] is field 3 (state)
  } catch {
    return undefined;
  }
}

/**
 * Whether the process `pid` (on this host) is alive and — when `startTime` is known — is the same
 * process that recorded it (a reused pid has another start time).
 */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}

/** This process's start time (see processStartTime), read once. */
let own: string | undefined | null = null;
export function ownStartTime(): string | undefined {
  if (own === null) own = processStartTime(process.pid);
  return own;
}
