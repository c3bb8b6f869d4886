import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../__fixtures__/test-stack.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { journalKeys } from "../store/journal.js";
import { checkArtifact, loadOutput, saveArtifact } from "./artifact-io.js";

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
    expect(await checkArtifact(store, { ...output, contentHash: "0".repeat(64) })).toMatchObject({ ok: false, reason: expect.stringMatching(/another content hash/) });
    await store.delete(`artifacts/${output.artifactId}/`);
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
  it("treats a corrupt meta.json, a missing meta.json and a folder in place of the data as not reusable", async () => {
    for (const damage of ["corrupt meta", "no meta", "folder"] as const) {
      const { store, output, file } = await saved([1, 2]);
      const metaFile = join(file, "..", "meta.json");
      if (damage === "corrupt meta") writeFileSync(metaFile, "{not json");
      if (damage === "no meta") rmSync(metaFile);
      if (damage === "folder") {
        rmSync(file);
        mkdirSync(file);
      }
      expect(await checkArtifact(store, output), damage).toMatchObject({ ok: false });
    }
  });

  it("round-trips empty values: an empty Buffer, an empty string, null, an empty Map", async () => {
    for (const value of [Buffer.alloc(0), "", null, new Map(), [], {}]) {
      const { store, output } = await saved(value);
      expect(await checkArtifact(store, output)).toEqual({ ok: true });
      expect(await loadOutput(store, output)).toEqual(value);
    }
  });
});
