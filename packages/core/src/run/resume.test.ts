import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compilePipeline } from "../snapshot/compile.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { readStepRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { executeRun } from "./execute-run.js";

describe("resume", () => {
  it.each([false, true])("recomputes a reused step whose artifact was deleted (dynamic: %s), and the steps after it get its output", async (dynamic) => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const calls: string[] = [];
    let gateOpen = false;
    const first = step({ name: "first", cache: false }, () => {
      calls.push("first");
      return { rows: [1, 2, 3] };
    });
    const second = step({ name: "second", cache: false }, (data: { rows: number[] }) => {
      calls.push("second");
      if (!gateOpen) throw new Error("gate closed");
      return data.rows.length;
    });
    const definition = dynamic
      ? pipeline({ name: "resume_dynamic", dynamic: true }, async () => {
          second(first());
        })
      : pipeline({ name: "resume_static" }, () => {
          second(first());
        });
    const { snapshot, definitions } = compilePipeline(definition, {}, { projectRoot: dir });
    const execute = (resume: boolean) =>
      executeRun({ snapshot, runId: "run1", store, resume, projectRoot: dir, ...(dynamic ? { pipeline: definition } : { definitions }) });

    expect((await execute(false)).run.status).toBe("failed");
    const firstRecord = await readStepRecord(store, "run1", "first");
    rmSync(join(dir, "artifacts", "artifacts", firstRecord!.outputs.output!.artifactId), { recursive: true });

    gateOpen = true;
    const resumed = await execute(true);
    expect(resumed.run.status).toBe("succeeded");
    expect(calls).toEqual(["first", "second", "first", "second"]);
    expect((await readStepRecord(store, "run1", "second"))?.status).toBe("succeeded");
  });

  it("keeps a finished step whose artifacts are intact (it does not run again)", async () => {
    const dir = tempDir();
    const store = createLocalArtifactStore(join(dir, "artifacts"));
    const calls: string[] = [];
    let gateOpen = false;
    const first = step({ name: "first", cache: false }, () => {
      calls.push("first");
      return 1;
    });
    const second = step({ name: "second", cache: false }, (x: number | undefined) => {
      calls.push("second");
      if (!gateOpen) throw new Error("gate closed");
      return x;
    });
    const { snapshot, definitions } = compilePipeline(pipeline({ name: "resume_keep" }, () => void second(first())), {}, { projectRoot: dir });
    await executeRun({ snapshot, runId: "run1", store, definitions });
    gateOpen = true;
    expect((await executeRun({ snapshot, runId: "run1", store, definitions, resume: true })).run.status).toBe("succeeded");
    expect(calls).toEqual(["first", "second", "second"]);
  });
});
