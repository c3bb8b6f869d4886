import { hostname } from "node:os";
import { OrchError } from "../errors.js";
import type { ArtifactStore } from "../store/artifact-store.js";
import { journalKeys } from "../store/journal.js";
import { isProcessAlive, ownStartTime } from "./process-identity.js";

/** runs/<runId>/owner.lock: who drives the run now. */
export interface OwnerLock {
  pid: number;
  host: string;
  /** See processStartTime: tells the owner from a later process with the same pid. */
  startTime?: string;
  acquiredAt: string;
  /** Renewed every LEASE_RENEW_MS while the owner lives: how owners on other hosts are judged. */
  renewedAt: string;
}

export const LEASE_RENEW_MS = 10_000;
export const LEASE_TTL_MS = 30_000;

export interface RunOwnership {
  lock: OwnerLock;
  /** Gives the run up (deletes the lock if it is still ours). */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** How long to watch the lease of an owner on another host before judging it (tests shorten it). */
  leaseTtlMs?: number;
}

/**
 * Makes this process the one owner of a run: creates runs/<runId>/owner.lock exclusively. An existing
 * lock is taken over when its owner is gone — on this host: its pid is dead or belongs to another
 * process (start time differs); on another host: its lease was not renewed for LEASE_TTL_MS. A live
 * owner makes this fail with E_RUN_LOCKED, naming its pid and host.
 */
export async function acquireRunOwnership(store: ArtifactStore, runId: string, options: AcquireOptions = {}): Promise<RunOwnership> {
  const key = journalKeys.owner(runId);
  const me = (): OwnerLock => {
    const now = new Date().toISOString();
    const startTime = ownStartTime();
    return { pid: process.pid, host: hostname(), ...(startTime ? { startTime } : {}), acquiredAt: now, renewedAt: now };
  };
  let lock = me();
  for (let attempt = 0; ; attempt++) {
    if (await createLock(store, key, lock)) break;
    const raw = await store.read(key);
    if (!raw) continue; // released meanwhile: try again
    const current = parseLock(raw);
    if (current && (await ownerIsLive(store, key, current, options.leaseTtlMs ?? LEASE_TTL_MS))) {
      throw new OrchError("E_RUN_LOCKED", {
        message: `Run ${runId} is owned by another process (pid ${current.pid} on ${current.host}, since ${current.acquiredAt}).`,
        hint: `Wait for it to end, or stop it: orch run stop ${runId}`,
      });
    }
    if (attempt >= 3) throw new OrchError("E_RUN_LOCKED", { message: `Could not take over run ${runId}: other processes keep taking it.`, hint: "Try again." });
    // A dead owner's lock (or a torn one): remove it if it is still the one we judged (another
    // process may have taken it over meanwhile), then race for a fresh one.
    const again = await store.read(key);
    if (again && Buffer.compare(Buffer.from(again), Buffer.from(raw)) === 0) await store.delete(key);
    lock = me();
  }
  const timer = setInterval(() => {
    lock = { ...lock, renewedAt: new Date().toISOString() };
    void store.write(key, JSON.stringify(lock)).catch(() => {});
  }, LEASE_RENEW_MS);
  timer.unref();
  return {
    get lock() {
      return lock;
    },
    async release() {
      clearInterval(timer);
      const current = await readLock(store, key).catch(() => undefined);
      if (current && current.pid === lock.pid && current.host === lock.host && current.acquiredAt === lock.acquiredAt) await store.delete(key);
    },
  };
}

async function createLock(store: ArtifactStore, key: string, lock: OwnerLock): Promise<boolean> {
  const text = JSON.stringify(lock);
  if (store.writeIfAbsent) return store.writeIfAbsent(key, text);
  // Stores without a conditional write: check, then write (a narrow race, documented in the README).
  if (await store.exists(key)) return false;
  await store.write(key, text);
  return true;
}

async function readLock(store: ArtifactStore, key: string): Promise<OwnerLock | undefined> {
  const bytes = await store.read(key);
  return bytes ? parseLock(bytes) : undefined;
}

function parseLock(bytes: Uint8Array): OwnerLock | undefined {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as OwnerLock;
  } catch {
    return undefined; // a torn lock (the owner died while creating it) is no owner
  }
}

async function ownerIsLive(store: ArtifactStore, key: string, lock: OwnerLock, ttlMs: number): Promise<boolean> {
  if (lock.pid === process.pid && lock.host === hostname()) return true; // this process already drives it
  if (lock.host === hostname()) return isProcessAlive(lock.pid, lock.startTime);
  // Another host: live while its lease is renewed. Watch it until it is renewed or runs out.
  for (;;) {
    const age = Date.now() - Date.parse(lock.renewedAt);
    if (!(age < ttlMs)) return false;
    await new Promise((r) => setTimeout(r, Math.min(1000, ttlMs - age + 10)));
    const now = await readLock(store, key);
    if (!now) return false;
    if (now.renewedAt !== lock.renewedAt || now.acquiredAt !== lock.acquiredAt) return true;
  }
}
