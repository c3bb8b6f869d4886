/**
 * S3 has no append. Step logs are kept in memory per key and the whole object is rewritten at most
 * every `intervalMs` while lines arrive, so `orch run logs --follow` (which polls the object) sees a
 * running step's output with about that delay. `flush(key)` writes the tail and forgets the key.
 *
 * Chosen over one object per chunk because readers keep reading one key (`runs/<id>/logs/<step>.log`),
 * the journal layout stays the same for every store, and a step log is small next to an artifact; the
 * price is rewriting the log so far on each flush.
 */
export interface LogAppender {
  append(key: string, text: string): Promise<void>;
  flush(key?: string): Promise<void>;
}

interface Entry {
  /** The log so far: the object's earlier content (another attempt, a resumed run) plus what we appended. */
  text: string;
  loaded: Promise<void>;
  dirty: boolean;
  writing: Promise<void>;
  timer?: NodeJS.Timeout | undefined;
  lastWrite: number;
}

export function createLogAppender(io: { read(key: string): Promise<Uint8Array | undefined>; write(key: string, text: string): Promise<void> }, intervalMs: number): LogAppender {
  const entries = new Map<string, Entry>();

  const writeOut = (key: string, entry: Entry): Promise<void> => {
    // Writes of one key go out one after another; an earlier failure does not block the next.
    entry.writing = entry.writing.catch(() => {}).then(async () => {
      await entry.loaded;
      if (!entry.dirty) return;
      entry.dirty = false;
      entry.lastWrite = Date.now();
      try {
        await io.write(key, entry.text);
      } catch (error) {
        entry.dirty = true; // the next flush tries again
        throw error;
      }
    });
    return entry.writing;
  };

  const schedule = (key: string, entry: Entry) => {
    if (entry.timer) return;
    // The first line goes out at once (a follower sees the step start); later ones at most every interval.
    const wait = Math.max(0, entry.lastWrite + intervalMs - Date.now());
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      // A failed periodic write is retried by the next one or by flush(), which reports it.
      writeOut(key, entry).catch(() => {});
    }, wait);
  };

  const flushOne = async (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    await writeOut(key, entry);
    if (!entry.dirty && !entry.timer) entries.delete(key);
  };

  return {
    async append(key, text) {
      let entry = entries.get(key);
      if (!entry) {
        const created: Entry = { text: "", dirty: false, writing: Promise.resolve(), lastWrite: 0, loaded: Promise.resolve() };
        created.loaded = io.read(key).then((bytes) => {
          created.text = (bytes ? Buffer.from(bytes).toString("utf8") : "") + created.text;
        });
        entries.set(key, created);
        entry = created;
      }
      entry.text += text;
      entry.dirty = true;
      schedule(key, entry);
    },
    async flush(key) {
      await Promise.all((key === undefined ? [...entries.keys()] : [key]).map(flushOne));
    },
  };
}
