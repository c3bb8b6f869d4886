import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIMPLE_PIPELINE, createProject, type TempProject } from "./harness.js";

let project: TempProject;
beforeAll(async () => {
  project = createProject("launch-rejected");
  project.write("src/demo.ts", SIMPLE_PIPELINE);
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

describe("a step whose launch rejects", () => {
  it("is reported as a failed step with the error and a hint, not dropped from the run", async () => {
    // The store refuses every step record of this run: its step journal runs/<id>/steps.jsonl is a folder.
    const runDir = join(project.dir, ".orch", "artifacts", "runs", "rejected-1");
    mkdirSync(join(runDir, "steps.jsonl"), { recursive: true });
    const result = await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "rejected-1", "--json"]);
    expect(result.code, result.stderr).toBe(1);
    const out = JSON.parse(result.stdout);
    expect(out.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([["load", "failed"], ["sum", "skipped"]]);
    expect(out.error).toMatchObject({ step: "load", message: expect.stringMatching(/^step load failed: .*(EISDIR|ENOTDIR|EEXIST)/) });

    const shown = await project.json(["run", "show", "rejected-1", "--json"]);
    expect(shown.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([["load", "failed"], ["sum", "skipped"]]);

    const plain = await project.orch(["pipeline", "run", "src/demo.ts", "--run-id", "rejected-2"]);
    expect(plain.code).toBe(0); // a healthy run id is unaffected
    expect(plain.stderr).not.toMatch(/error: undefined/);
  });
});
