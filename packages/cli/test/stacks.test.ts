import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIMPLE_PIPELINE, createProject, dumpIndex, type TempProject } from "./harness.js";

let project: TempProject;

beforeAll(async () => {
  project = createProject("stacks");
  project.write("src/demo.ts", SIMPLE_PIPELINE);
  const init = await project.orch(["init"]);
  expect(init.code, init.stderr).toBe(0);
});
afterAll(() => project?.remove());

/** Everything in the index that a bad command must not change. */
async function indexState() {
  return dumpIndex(join(project.dir, ".orch", "orch.db"));
}

describe("orch init", () => {
  it("creates .orch with the index and the default stack (local orchestrator, local artifact store)", async () => {
    expect(existsSync(join(project.dir, ".orch", "orch.db"))).toBe(true);
    const stacks = await project.json(["stack", "list", "--json"]);
    expect(stacks).toEqual([expect.objectContaining({ name: "default", orchestrator: "default", artifactStore: "default", active: true })]);
    const store = await project.json(["artifact-store", "describe", "default", "--json"]);
    expect(store).toMatchObject({ flavor: "local", config: { path: ".orch/artifacts" } });
  });

  it("finds the project from a subfolder", async () => {
    project.write("sub/dir/.keep", "");
    const result = await project.orch(["stack", "list"], { cwd: join(project.dir, "sub", "dir") });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("default");
  });

  it("uses ORCH_HOME instead of searching upwards", async () => {
    const other = createProject("orch-home");
    try {
      other.write("src/demo.ts", SIMPLE_PIPELINE);
      const home = join(other.dir, "state", ".orch");
      const env = { ORCH_HOME: home };
      expect((await other.orch(["init"], { env })).code).toBe(0);
      expect(existsSync(join(home, "orch.db"))).toBe(true);
      const run = await other.orch(["pipeline", "run", join(other.dir, "src", "demo.ts")], { env, cwd: join(other.dir, "src") });
      expect(run.code, run.stderr).toBe(0);
      const runs = await other.orch(["run", "list", "--json"], { env });
      const [latest] = JSON.parse(runs.stdout);
      expect(existsSync(join(home, "artifacts", "runs", latest.runId, "run.json"))).toBe(true);
    } finally {
      other.remove();
    }
  });

  it("fails with a hint to run orch init outside a project", async () => {
    const outside = createProject("outside");
    try {
      // A folder with no .orch anywhere above it: ORCH_HOME pointing nowhere.
      const result = await outside.orch(["stack", "list"], { env: { ORCH_HOME: join(outside.dir, "missing", ".orch") } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^error: .*does not exist/m);
      expect(result.stderr).toMatch(/^hint: .*orch init/m);
    } finally {
      outside.remove();
    }
  });
});

describe("the seed's stack-switching flow", () => {
  it("copies a stack, registers an orchestrator, updates and activates the stack, and runs on it", async () => {
    for (const args of [
      ["stack", "copy", "default", "production"],
      ["orchestrator", "register", "prod", "--flavor=local", "--max_parallelism=2"],
      ["stack", "update", "production", "-o", "prod"],
      ["stack", "set", "production"],
    ]) {
      const result = await project.orch(args);
      expect(result.code, `orch ${args.join(" ")}: ${result.stderr}`).toBe(0);
    }
    const stacks = await project.json(["stack", "list", "--json"]);
    expect(stacks.find((s: any) => s.name === "production")).toMatchObject({ orchestrator: "prod", active: true });
    expect((await project.orch(["stack", "list"])).stdout).toMatch(/^\*\s+production\s+prod/m);
    expect(await project.json(["orchestrator", "describe", "prod", "--json"])).toMatchObject({ flavor: "local", config: { maxParallelism: 2 }, stacks: ["production"] });

    const run = await project.orch(["pipeline", "run", "src/demo.ts"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/on stack production/);
    const runs = await project.json(["run", "list", "--json"]);
    expect(runs[0]).toMatchObject({ pipeline: "demo", stack: "production", status: "succeeded", stepCounts: { succeeded: 2 } });
    expect((await project.orch(["run", "list"])).stdout).toMatch(/demo\s+production\s+succeeded\s+2\/2/);
  });

  it("accepts camelCase keys and parses values per the schema", async () => {
    const result = await project.orch(["orchestrator", "register", "camel", "--flavor", "local", "--maxParallelism", "3", "--execution_mode=continue-on-failure"]);
    expect(result.code, result.stderr).toBe(0);
    expect(await project.json(["orchestrator", "describe", "camel", "--json"])).toMatchObject({ config: { maxParallelism: 3, executionMode: "continue-on-failure" } });
    const updated = await project.orch(["orchestrator", "update", "camel", "--max_parallelism=5"]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(await project.json(["orchestrator", "describe", "camel", "--json"])).toMatchObject({ config: { maxParallelism: 5 } });
  });

  it("redacts secret config fields in describe", async () => {
    const result = await project.orch(["container-registry", "register", "ghcr", "--flavor=github", "--uri=ghcr.io/acme", "--username=bot", "--password=hunter2"]);
    expect(result.code, result.stderr).toBe(0);
    const described = await project.orch(["container-registry", "describe", "ghcr"]);
    expect(described.stdout).toContain("ghcr.io/acme");
    expect(described.stdout).not.toContain("hunter2");
    expect(await project.json(["container-registry", "describe", "ghcr", "--json"])).toMatchObject({ config: { password: "********", username: "bot" } });
  });

  it("marks the active stack, describes it, and refuses to delete it or a component in use", async () => {
    expect(await project.json(["stack", "describe", "--json"])).toMatchObject({ name: "production", active: true, orchestrator: { name: "prod", flavor: "local" } });
    const deleteActive = await project.orch(["stack", "delete", "production"]);
    expect(deleteActive.code).toBe(2);
    expect(deleteActive.stderr).toMatch(/^error: Stack "production" is the active stack\.$/m);
    const deleteUsed = await project.orch(["orchestrator", "delete", "prod"]);
    expect(deleteUsed.code).toBe(2);
    expect(deleteUsed.stderr).toMatch(/used by stack production/);
    expect((await project.orch(["stack", "register", "tmp", "-o", "camel"])).code).toBe(0);
    expect((await project.orch(["stack", "delete", "tmp"])).code).toBe(0);
    expect((await project.orch(["orchestrator", "delete", "camel"])).code).toBe(0);
  });

  it("lists flavors with --json", async () => {
    const flavors = await project.json(["orchestrator", "flavor", "list", "--json"]);
    expect(flavors).toContainEqual(expect.objectContaining({ flavor: "local", package: "@orch/plugin-local", installed: true }));
    expect(flavors).toContainEqual(expect.objectContaining({ flavor: "kubernetes", installed: false }));
  });
});

describe("bad input", () => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown flavor", ["orchestrator", "register", "x", "--flavor=kubernets"], /No orchestrator plugin found for flavor "kubernets".*Did you mean "kubernetes"/],
    ["a mistyped config key", ["orchestrator", "register", "x", "--flavor=local", "--max_paralelism=2"], /Unknown config key "--max_paralelism".*\nhint: Did you mean --max_parallelism\?/],
    ["an unknown config key", ["orchestrator", "register", "x", "--flavor=local", "--kubernetes_context=ctx"], /Unknown config key "--kubernetes_context" for flavor local/],
    ["a value of the wrong type", ["orchestrator", "register", "x", "--flavor=local", "--max_parallelism=many"], /--max_parallelism must be a number/],
    ["a value the schema refuses", ["orchestrator", "register", "x", "--flavor=local", "--max_parallelism=0"], /maxParallelism/],
    ["a stack with a missing component", ["stack", "register", "s", "-o", "nope"], /Orchestrator "nope" is not registered/],
    ["a missing stack", ["pipeline", "run", "src/demo.ts", "--stack", "nope"], /Stack "nope" is not registered/],
    ["setting a missing stack", ["stack", "set", "nope"], /Stack "nope" is not registered/],
    ["a file with no pipeline export", ["pipeline", "run", "src/none.ts"], /exports no pipeline/],
    ["a pipeline that fails to compile", ["pipeline", "run", "src/async.ts"], /Pipeline "broken" is async but not declared dynamic/],
    ["a missing file", ["pipeline", "run", "src/missing.ts"], /does not exist/],
    ["invalid parameters", ["pipeline", "run", "src/params.ts", "--param", "n=oops"], /Parameter "n" must be a number, got "oops"/],
    ["an unknown parameter", ["pipeline", "run", "src/params.ts", "--param", "m=1"], /Unknown parameter "m" for pipeline "params"/],
    ["an unknown command", ["stak", "list"], /unknown command 'stak'\nhint: Did you mean stack\?/],
    ["a missing required option", ["orchestrator", "register", "x"], /required option '-f, --flavor <flavor>' not specified/],
  ];

  beforeAll(() => {
    project.write("src/none.ts", "export const answer = 42;\n");
    project.write("src/async.ts", `import { step, pipeline } from "@orch/core";\nconst a = step({ name: "a" }, async () => 1);\nexport const broken = pipeline({ name: "broken" }, async () => { a(); });\n`);
    project.write("src/params.ts", `import { step, pipeline, z } from "@orch/core";\nconst a = step({ name: "a" }, async (n: number) => n);\nexport const params = pipeline({ name: "params", params: z.object({ n: z.number() }) }, (p) => { a(p.n); });\n`);
  });

  it.each(cases)("%s: one-line error with a hint, exit 2, no stack trace, index unchanged", async (_, args, pattern) => {
    const before = await indexState();
    const result = await project.orch(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).toMatch(/^error: [^\n]+\nhint: [^\n]+\n$/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await indexState()).toEqual(before);
  });
});

describe("the command line itself", () => {
  it("prints help with exit 0 and states how scheduled pipelines are handled", async () => {
    const help = await project.orch(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 success, 1 the run failed, 2 usage or configuration error/);
    const runHelp = await project.orch(["pipeline", "run", "--help"]);
    expect(runHelp.stdout.replace(/\s+/g, " ")).toMatch(/A pipeline with a schedule is registered instead of run .* unless --now is given/);
  });

  it("respects NO_COLOR and uses no colour when output is not a terminal", async () => {
    const result = await project.orch(["stack", "list"], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(result.stdout).not.toMatch(/\u001b\[/);
    const coloured = await project.orch(["stack", "list"], { env: { FORCE_COLOR: "1", NO_COLOR: "" } });
    expect(coloured.stdout).toMatch(/\u001b\[/);
  });
});
