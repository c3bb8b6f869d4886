import { describe, expect, it } from "vitest";
import type { ArtifactStore } from "../store/artifact-store.js";
import { createStepLog } from "./step-log.js";

describe("createStepLog", () => {
  // Issue 12: object stores buffer appends; the log's tail must be durable when the step ends.
  it("flushes a store that buffers appends when the step's log is complete", async () => {
    const written = new Map<string, string>();
    const buffered = new Map<string, string>();
    const store = {
      append: async (key: string, text: string) => void buffered.set(key, (buffered.get(key) ?? "") + text),
      flush: async (key?: string) => {
        for (const [k, text] of buffered) if (key === undefined || k === key) written.set(k, text);
      },
      read: async () => undefined,
      write: async () => {},
    } as unknown as ArtifactStore;
    const log = createStepLog(store, "r1", "s");
    log.logger.info("hello");
    await log.flush();
    expect(written.get("runs/r1/logs/s.log")).toMatch(/INFO  hello\n$/);
  });
});
