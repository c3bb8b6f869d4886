import { randomBytes } from "node:crypto";

/**
 * Run ids sort by start time and stay unique across processes and machines:
 * `20261122-030015-123-k3f9x2` (UTC date, time, milliseconds, random suffix).
 */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-22T03:00:15.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}-${iso.slice(20, 23)}`;
  return `${stamp}-${randomSuffix()}`;
}

export function newArtifactId(): string {
  return `${Date.now().toString(36)}-${randomSuffix(10)}`;
}

function randomSuffix(length = 6): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}
