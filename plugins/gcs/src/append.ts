/**
 * `append` for step logs on Cloud Storage, whose objects are immutable.
 *
 * Small logs (up to {@link REWRITE_LIMIT}): each flush rewrites the whole object from a copy kept in
 * this process — one request, and readers (`orch run logs --follow`) see every flushed line at once.
 * Larger logs: the new text goes up as a temporary chunk object that is composed onto the end of the
 * log (`compose` is server-side, so the log is never downloaded or re-uploaded) and then deleted.
 *
 * Every flush carries `ifGenerationMatch` of the generation it extends, so two writers of one log
 * (another process, or a retried request of ours whose first attempt landed) never lose or double
 * text silently: on a precondition failure the state is reloaded and the text re-applied unless the
 * object already ends with it. Appends that arrive while a flush is in flight are coalesced into the
 * next one.
 */
import { randomBytes } from "node:crypto";
import type { Bucket, File } from "@google-cloud/storage";
import { isNotFound, isPreconditionFailed } from "./errors.js";

/** Up to this size a log is rewritten whole on each flush; past it, text is composed on. */
export const REWRITE_LIMIT = 1024 * 1024;
/** Marks temporary chunk objects; `~` never occurs in a store key, so they cannot collide with one. */
export const CHUNK_MARKER = "~append-";
const MAX_ATTEMPTS = 20;
/** How many logs one process keeps state (and up to {@link REWRITE_LIMIT} of text) for. */
const CACHED_LOGS = 32;
/** Random pause before re-applying after a lost race, so two appenders do not collide in lockstep. */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 10 * 2 ** attempt)));

interface LogState {
  /** Generation of the log object this process last saw (0: it does not exist). */
  generation?: number;
  size: number;
  /** The whole log, while it is small enough to rewrite. */
  content?: Buffer;
  pending: string[];
  next?: Promise<void>;
  busy?: Promise<void>;
  flushing?: boolean;
}

export interface AppenderOptions {
  bucket: Bucket;
  objectName: (key: string) => string;
  onError: (error: unknown, key: string) => Error;
}

export function createAppender({ bucket, objectName, onError }: AppenderOptions): (key: string, text: string) => Promise<void> {
  const states = new Map<string, LogState>();

  const load = async (name: string, state: LogState) => {
    for (;;) {
      let meta;
      try {
        [meta] = await bucket.file(name).getMetadata();
      } catch (error) {
        if (!isNotFound(error)) throw error;
        state.generation = 0;
        state.size = 0;
        state.content = Buffer.alloc(0);
        return;
      }
      state.generation = Number(meta.generation);
      state.size = Number(meta.size);
      state.content = undefined;
      if (state.size > REWRITE_LIMIT) return;
      try {
        // Download exactly the generation we will extend; a newer one makes this 404 and we look again.
        [state.content] = await bucket.file(name, { generation: state.generation }).download();
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  };

  /** True when the log object already ends with `text` at the expected size (our retried write landed). */
  const alreadyApplied = async (name: string, state: LogState, expectedSize: number, text: Buffer) => {
    await load(name, state);
    if (state.size !== expectedSize) return false;
    if (state.content) return state.content.subarray(state.size - text.length).equals(text);
    try {
      const [tail] = await bucket.file(name, { generation: state.generation }).download({ start: state.size - text.length, end: state.size - 1 });
      return tail.equals(text);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      state.generation = undefined; // changed again meanwhile: reload before the next attempt
      return false;
    }
  };

  const flush = async (name: string, state: LogState, text: Buffer) => {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (state.generation === undefined) await load(name, state);
      const generation = state.generation!;
      const expectedSize = state.size + text.length;
      const file: File = bucket.file(name);
      try {
        if (state.content && expectedSize <= REWRITE_LIMIT) {
          const whole = Buffer.concat([state.content, text]);
          await file.save(whole, { resumable: false, contentType: "text/plain; charset=utf-8", preconditionOpts: { ifGenerationMatch: generation } });
          state.content = whole;
        } else if (generation === 0) {
          await file.save(text, { resumable: false, contentType: "text/plain; charset=utf-8", preconditionOpts: { ifGenerationMatch: 0 } });
          state.content = undefined;
        } else {
          const chunk = bucket.file(`${name}${CHUNK_MARKER}${randomBytes(6).toString("hex")}`);
          await chunk.save(text, { resumable: false, contentType: "text/plain; charset=utf-8", preconditionOpts: { ifGenerationMatch: 0 } });
          try {
            // combine() does not update file.metadata: the new generation comes from its response.
            const [, response] = await bucket.combine([file, chunk], file, { ifGenerationMatch: generation });
            file.metadata.generation = (response as { generation?: string } | undefined)?.generation;
          } finally {
            await chunk.delete({ ignoreNotFound: true }).catch(() => {});
          }
          state.content = undefined;
        }
        state.size = expectedSize;
        state.generation = Number(file.metadata.generation ?? NaN);
        if (!Number.isFinite(state.generation)) state.generation = undefined;
        return;
      } catch (error) {
        if (!isPreconditionFailed(error)) throw error;
        if (await alreadyApplied(name, state, expectedSize, text)) return;
        await backoff(attempt);
      }
    }
    throw new Error(`gave up after ${MAX_ATTEMPTS} attempts: the log object kept changing under concurrent writers`);
  };

  /** Forgets the least recently used idle logs past {@link CACHED_LOGS}: a forgotten log is reloaded on its next append. */
  const evict = () => {
    for (const [name, state] of states) {
      if (states.size <= CACHED_LOGS) return;
      if (!state.next && !state.flushing && state.pending.length === 0) states.delete(name);
    }
  };

  return async function append(key: string, text: string): Promise<void> {
    const name = objectName(key);
    let state = states.get(name);
    if (state) states.delete(name); // re-inserted below: Map order is least recently used first
    else state = { size: 0, pending: [] };
    states.set(name, state);
    const s = state;
    s.pending.push(text);
    evict();
    // Join the flush that has not started yet, or schedule one after the flush in flight.
    s.next ??= (s.busy ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        s.next = undefined;
        const batch = Buffer.from(s.pending.splice(0).join(""), "utf8");
        s.flushing = true;
        s.busy = flush(name, s, batch)
          .catch((error: unknown) => {
            s.generation = undefined; // reload on the next append
            throw onError(error, key);
          })
          .finally(() => (s.flushing = false));
        return s.busy;
      });
    return s.next;
  };
}
