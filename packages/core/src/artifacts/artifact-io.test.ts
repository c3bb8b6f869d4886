import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { sha256 } from "../hash.js";
import { journalKeys, writeRunRecord, writeStepRecord } from "../store/journal.js";
import { checkArtifact, loadArtifact, loadOutput, readArtifactMeta, saveArtifact } from "./artifact-io.js";

const where = { runId: "r1", stepId: "s", output: "output" };

async function saved(value: unknown) {
  const dir = tempDir();
  const store = createLocalArtifactStore(dir);
  const output = await saveArtifact(store, value, where);
  const file = join(dir, journalKeys.artifactData(output.artifactId));
  return { store, output, file };
}

afterEach(() => {
  delete process.env.ORCH_VERIFY_ARTIFACTS;
});

describe("artifact checks", () => {
  it("loads an intact artifact and refuses a changed or truncated one with E_ARTIFACT_CORRUPT", async () => {
    const { store, output, file } = await saved({ weights: [1, 2, 3] });
    expect(await checkArtifact(store, output)).toEqual({ ok: true });
    expect(await loadOutput(store, output)).toEqual({ weights: [1, 2, 3] });

    writeFileSync(file, readFileSync(file, "utf8").replace("1", "9"));
    expect(await checkArtifact(store, output)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match the content hash/) });
    await expect(loadOutput(store, output)).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT", message: expect.stringContaining(output.artifactId) });

    writeFileSync(file, "{");
    expect(await checkArtifact(store, output)).toMatchObject({ ok: false, reason: expect.stringMatching(/its data is 1 bytes, but 19 were saved/) });
    await expect(loadOutput(store, output)).rejects.toMatchObject({ code: "E_ARTIFACT_CORRUPT" });
  });

  it("reports a missing artifact, and a step record that names another content hash", async () => {
    const { store, output } = await saved("x");
    expect(await checkArtifact(store, { ...output, contentHash: "0".repeat(64) })).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match the content hash/) });
    await store.delete(journalKeys.artifactData(output.artifactId));
    expect(await checkArtifact(store, output)).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
    await expect(loadOutput(store, output)).rejects.toMatchObject({ code: "E_ARTIFACT_NOT_FOUND" });
  });

  it("compares only sizes of large artifacts when asked (ORCH_VERIFY_ARTIFACTS=size), and always hashes with =hash", async () => {
    const { store, output, file } = await saved(Buffer.from("abcdef"));
    writeFileSync(file, "abcdeX");
    process.env.ORCH_VERIFY_ARTIFACTS = "size";
    expect(await checkArtifact(store, output)).toEqual({ ok: true }); // same size: not detected without hashing
    writeFileSync(file, "abc");
    expect(await checkArtifact(store, output)).toMatchObject({ ok: false });
    writeFileSync(file, "abcdeX");
    process.env.ORCH_VERIFY_ARTIFACTS = "hash";
    expect(await checkArtifact(store, output)).toMatchObject({ ok: false });
  });
});

describe("artifact checks on odd damage", () => {
  it("treats a folder or an empty file in place of the data as not reusable", async () => {
    for (const damage of ["folder", "empty"] as const) {
      const { store, output, file } = await saved([1, 2]);
      rmSync(file);
      if (damage === "folder") mkdirSync(file);
      else writeFileSync(file, "");
      expect(await checkArtifact(store, output), damage).toMatchObject({ ok: false });
      await expect(loadOutput(store, output), damage).rejects.toThrow();
    }
  });

  it("writes one object per artifact: no meta.json, no folder", async () => {
    const { output, file } = await saved({ a: 1 });
    expect(readFileSync(file, "utf8")).toBe('{"a":1}');
    expect(output).toMatchObject({ materializer: "json", size: 7, type: "Object" });
    expect(readdirSync(join(file, ".."))).toEqual([output.artifactId]);
  });

  it("still reads stores written in the folder layout (artifacts/<id>/data + meta.json), by output record and by id", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const artifactId = "legacy-1";
    const data = '{"old":true}';
    const contentHash = sha256(Buffer.from(data));
    mkdirSync(join(dir, "artifacts", artifactId), { recursive: true });
    writeFileSync(join(dir, journalKeys.legacyArtifactData(artifactId)), data);
    const meta = { artifactId, materializer: "json", contentHash, size: data.length, runId: "r0", stepId: "s", output: "output", createdAt: "2026-01-01T00:00:00.000Z", type: "object" };
    writeFileSync(join(dir, journalKeys.legacyArtifactMeta(artifactId)), JSON.stringify(meta));
    // An output record from before sizes were recorded.
    const record = { artifactId, materializer: "json", contentHash };
    expect(await checkArtifact(store, record)).toEqual({ ok: true });
    expect(await loadOutput(store, record)).toEqual({ old: true });
    expect(await loadArtifact(store, artifactId)).toEqual({ old: true });
    writeFileSync(join(dir, journalKeys.legacyArtifactData(artifactId)), '{"old":fals}');
    expect(await checkArtifact(store, record)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match the content hash/) });
  });

  it("finds an artifact by id alone through the step record that produced it", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(dir);
    const output = await saveArtifact(store, [1, 2, 3], where);
    await writeStepRecord(store, { runId: "r1", stepId: "s", name: "s", status: "succeeded", attempts: 1, finishedAt: "2026-01-01T00:00:00.000Z", outputs: { output }, metadata: {} });
    await writeRunRecord(store, { runId: "r1", pipeline: "p", status: "succeeded", pipelineHash: "h", startedAt: "2026-01-01T00:00:00.000Z", parameters: {} });
    expect(await loadArtifact(store, output.artifactId)).toEqual([1, 2, 3]);
    expect(await readArtifactMeta(store, output.artifactId)).toMatchObject({ runId: "r1", stepId: "s", output: "output", materializer: "json", size: 7 });
    await expect(loadArtifact(store, "no-such-id")).rejects.toMatchObject({ code: "E_ARTIFACT_NOT_FOUND" });
  });

  it("round-trips empty values: an empty Buffer, an empty string, null, an empty Map", async () => {
    for (const value of [Buffer.alloc(0), "", null, new Map(), [], {}]) {
      const { store, output } = await saved(value);
      expect(await checkArtifact(store, output)).toEqual({ ok: true });
      expect(await loadOutput(store, output)).toEqual(value);
    }
  });
});
