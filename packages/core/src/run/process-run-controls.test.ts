import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalArtifactStore } from "../store/local-store.js";
import { writeJson, type ArtifactStore } from "../store/artifact-store.js";
import { journalKeys } from "../store/journal.js";
import { processRunControls } from "./process-run-controls.js";

const dir = mkdtempSync(join(tmpdir(), "orch-controls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A store without append, like an object store: the log is rewritten whole. */
function objectLikeStore(): ArtifactStore {
  const { append: _append, ...rest } = createLocalArtifactStore(join(dir, `s${Math.random()}`));
  return rest;
}

const runRecord = (status: string, pid = process.pid) => ({ runId: "r1", pipeline: "p", pipelineHash: "h", status, startedAt: new Date().toISOString(), parameters: {}, host: hostname(), pid });

describe("processRunControls().logs", () => {
  it("with follow, yields lines written while the run is running, then ends with the run", async () => {
    const store = objectLikeStore();
    await writeJson(store, journalKeys.run("r1"), runRecord("running"));
    await store.write(journalKeys.log("r1", "s"), "one\npart");
    const seen: string[] = [];
    const following = (async () => {
      for await (const line of processRunControls(store).logs("r1", "s", { follow: true })) seen.push(line);
    })();
    await expect.poll(() => seen).toEqual(["one"]);
    await store.write(journalKeys.log("r1", "s"), "one\npartial line\ntwo\n");
    await expect.poll(() => seen).toEqual(["one", "partial line", "two"]);
    await store.write(journalKeys.log("r1", "s"), "one\npartial line\ntwo\nlast");
    await writeJson(store, journalKeys.run("r1"), runRecord("succeeded"));
    await following;
    expect(seen).toEqual(["one", "partial line", "two", "last"]);
  });

  it("without follow, or for a run whose driving process is gone, prints what is there and ends", async () => {
    const store = objectLikeStore();
    await writeJson(store, journalKeys.run("r1"), runRecord("running", 2 ** 22 + 12345));
    await store.write(journalKeys.log("r1", "s"), "a\nb\n");
    const all = async (follow: boolean) => {
      const lines: string[] = [];
      for await (const line of processRunControls(store).logs("r1", "s", { follow })) lines.push(line);
      return lines;
    };
    expect(await all(false)).toEqual(["a", "b"]);
    expect(await all(true)).toEqual(["a", "b"]);
  });
});
