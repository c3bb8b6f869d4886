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

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
// Random bytes drawn 4 KiB at a time: one draw per id cost more than the rest of saving a small artifact.
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomSuffix(length = 6): string {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[pool[poolOffset + i]! % ALPHABET.length];
  poolOffset += length;
  return out;
}
