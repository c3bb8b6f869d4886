import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@orch/core";
import { createProject, type TempProject } from "./harness.js";

// A step's cache key must change when code it runs changes outside its own function body: a helper
// in another project file, or a constant of its module.
let project: TempProject;

beforeAll(async () => {
  project = createProject("cache-code");
  project.write("src/helper.ts", `export const helper = (x: number) => x + 1000;\n`);
  project.write(
    "src/steps.ts",
    `import { step } from "@orch/core";
import { helper } from "./helper.js";
const SCALE = 1;
export const compute = step({ name: "compute" }, (x: number) => helper(x) * SCALE);
export const plain = step({ name: "plain" }, (x: number) => x * 2);
`,
  );
  project.write(
    "src/other.ts",
    `import { step } from "@orch/core";
export const untouched = step({ name: "untouched" }, (x: number) => x - 1);
`,
  );
  project.write(
    "src/pipe.ts",
    `import { pipeline } from "@orch/core";
import { compute } from "./steps.js";
import { untouched } from "./other.js";
export const codeCache = pipeline({ name: "code_cache" }, () => { compute(1); untouched(5); });
`,
  );
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

async function run(): Promise<{ statuses: Record<string, string>; value: number }> {
  const result = await project.orch(["pipeline", "run", "src/pipe.ts", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  const json = JSON.parse(result.stdout) as { runId: string; steps: { id: string; status: string }[] };
  const client = createClient(join(project.dir, ".orch", "artifacts"));
  return { statuses: Object.fromEntries(json.steps.map((s) => [s.id, s.status])), value: await client.loadOutput<number>(json.runId, "compute") };
}

function edit(file: string, from: string, to: string): void {
  const path = join(project.dir, file);
  const text = readFileSync(path, "utf8");
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

describe("step code hash", () => {
  it("re-runs a step when a helper in another file or a module constant changes, and keeps unchanged steps cached", async () => {
    expect(await run()).toEqual({ statuses: { compute: "succeeded", untouched: "succeeded" }, value: 1001 });
    expect(await run()).toEqual({ statuses: { compute: "cached", untouched: "cached" }, value: 1001 });

    edit("src/helper.ts", "x + 1000", "x + 2000");
    expect(await run()).toEqual({ statuses: { compute: "succeeded", untouched: "cached" }, value: 2001 });

    edit("src/steps.ts", "const SCALE = 1;", "const SCALE = 3;");
    expect(await run()).toEqual({ statuses: { compute: "succeeded", untouched: "cached" }, value: 6003 });
    expect(await run()).toEqual({ statuses: { compute: "cached", untouched: "cached" }, value: 6003 });
  });
});
