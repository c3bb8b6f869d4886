import type { Stats } from "node:fs";

/**
 * The local store's memory of small files it read recently, each kept with the file's identity (inode,
 * size, modification time) and handed out again only while a `stat` still finds that identity. On this
 * kind of machine opening a file costs ten times a `stat`, and a run reads the same files again and
 * again: an upstream artifact once per downstream step. A file changed by anyone (another process, an
 * editor) has another size or time, so it is read again.
 */
export class RecentReads {
  private readonly entries = new Map<string, { ino: number; size: number; mtimeMs: number; bytes: Buffer }>();
  private bytes = 0;

  constructor(
    /** Total bytes kept; the least recently used files go first. */
    private readonly capacity: number,
    /** Files kept at most (each costs its path and bookkeeping besides its bytes). */
    private readonly maxFiles = 4096,
  ) {}

  /** A copy of what was read from `path`, when `stats` (taken just now) says the file is unchanged. */
  get(path: string, stats: Stats): Buffer | undefined {
    const entry = this.entries.get(path);
    if (!entry) return undefined;
    if (entry.ino !== stats.ino || entry.size !== stats.size || entry.mtimeMs !== stats.mtimeMs) {
      this.forget(path);
      return undefined;
    }
    this.entries.delete(path);
    this.entries.set(path, entry);
    // A copy: callers (materializers, user code) may change the buffer they get.
    return Buffer.from(entry.bytes);
  }

  /** Remembers `bytes` as the content of `path` as `stats` describes it (taken before the read). */
  remember(path: string, stats: Stats, bytes: Buffer): void {
    if (bytes.byteLength !== stats.size || bytes.byteLength > this.capacity / 16) return; // changed while read, or too big to keep
    this.forget(path);
    this.entries.set(path, { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, bytes: Buffer.from(bytes) });
    this.bytes += bytes.byteLength;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.capacity && this.entries.size <= this.maxFiles) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes.byteLength;
    }
  }

  forget(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    this.bytes -= entry.bytes.byteLength;
  }

  /** Forgets `path` and everything under it (a deleted folder). */
  forgetUnder(path: string): void {
    for (const key of [...this.entries.keys()]) if (key === path || key.startsWith(`${path}/`)) this.forget(key);
  }
}
