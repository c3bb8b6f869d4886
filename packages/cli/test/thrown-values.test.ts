import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type TempProject } from "./harness.js";

// Whatever a step throws, the CLI says which step failed and why.
let project: TempProject;

beforeAll(async () => {
  project = createProject("thrown-values");
  project.write(
    "src/throws.ts",
    `import { step, pipeline } from "@orch/core";
export const nothing = step({ name: "throws_nothing" }, async () => { throw undefined; });
export const object = step({ name: "throws_object" }, async () => { throw { status: 503, retry: false }; });
export const undefinedPipe = pipeline({ name: "undefined_pipe" }, () => { nothing(); });
export const objectPipe = pipeline({ name: "object_pipe" }, () => { object(); });
`,
  );
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

describe("a step that throws a value that is not an Error", () => {
  it.each([
    ["undefinedPipe", "throws_nothing", /undefined was thrown/],
    ["objectPipe", "throws_object", /object thrown: \{"status":503,"retry":false\}/],
  ])("%s: the CLI names the failed step and what was thrown", async (exported, stepId, thrown) => {
    const result = await project.orch(["pipeline", "run", `src/throws.ts#${exported}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`step ${stepId} failed: ${thrown.source}`));
    expect(result.stderr).not.toContain("[object Object]");
    const [run] = await project.json(["run", "list", "--json"]);
    const shown = await project.json(["run", "show", run.runId, "--json"]);
    expect(shown.steps[0]).toMatchObject({ id: stepId, status: "failed", error: { message: expect.stringMatching(thrown) } });
  });
});
