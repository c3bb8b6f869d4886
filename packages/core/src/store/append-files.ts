import { closeSync, fstatSync, openSync, statSync, writeSync } from "node:fs";

/**
 * Appends through descriptors the local store keeps open (`O_APPEND`), the most recently used `max` of
 * them: a run appends to the same few files (its step journal, the cache journals, logs) once per step,
 * and on this kind of machine opening a file costs ten times a `stat`. Every append is still one
 * `write(2)`, done before it returns, so nothing waits in memory for a crash to lose.
 */
export class AppendFiles {
  private readonly open = new Map<string, { fd: number; ino: number }>();

  constructor(private readonly max: number) {}

  /** Appends `bytes` to the file at `path` (created when absent). */
  append(path: string, bytes: Buffer): void {
    let file = this.open.get(path);
    // The same file still? Another process may have deleted it (or put a new one there) since it was opened.
    if (file && statSync(path, { throwIfNoEntry: false })?.ino !== file.ino) {
      this.close(path);
      file = undefined;
    }
    if (!file) {
      const fd = openSync(path, "a");
      file = { fd, ino: fstatSync(fd).ino };
      this.evictFor(path);
    }
    this.open.delete(path);
    this.open.set(path, file);
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(file.fd, bytes, written);
  }

  /** Closes what is open at `path` or below it (a deleted key or folder). */
  closeUnder(path: string): void {
    for (const open of [...this.open.keys()]) if (open === path || open.startsWith(`${path}/`)) this.close(open);
  }

  private evictFor(path: string): void {
    for (const oldest of this.open.keys()) {
      if (this.open.size < this.max) break;
      if (oldest !== path) this.close(oldest);
    }
  }

  private close(path: string): void {
    const file = this.open.get(path);
    if (!file) return;
    this.open.delete(path);
    try {
      closeSync(file.fd);
    } catch {
      // already closed with the process's other descriptors: nothing to release
    }
  }
}
