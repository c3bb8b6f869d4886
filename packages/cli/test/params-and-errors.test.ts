/**
 * Parameters (issue 9, items 11 and 18), compile and load errors (item 14) and secrets (item 24),
 * through the real `orch` binary.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type TempProject } from "./harness.js";

let project: TempProject;

const PARAMS_PIPELINE = `
import { step, pipeline, z } from "@orch/core";
export const echo = step({ name: "echo" }, async (p: unknown) => p);
export const typed = pipeline(
  {
    name: "typed",
    cache: false,
    params: z.object({
      name: z.string().default("anon"),
      trees: z.number().default(50),
      verbose: z.boolean().default(false),
      tags: z.array(z.string()).default([]),
      options: z.object({ depth: z.number() }).optional(),
      level: z.enum(["low", "high"]).default("low"),
    }),
  },
  (p) => { echo(p); },
);
`;

const SCHEMALESS_PIPELINE = `
import { step, pipeline } from "@orch/core";
export const echo = step({ name: "echo" }, async (p: unknown) => p);
export const schemaless = pipeline({ name: "schemaless", cache: false }, (p: { trees?: number }) => { echo(p.trees ?? 50); });
export const none = pipeline({ name: "none", cache: false }, () => { echo(1); });
`;

beforeAll(async () => {
  project = createProject("params");
  project.write("src/typed.ts", PARAMS_PIPELINE);
  project.write("src/schemaless.ts", SCHEMALESS_PIPELINE);
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

/** The parameters the run recorded (its snapshot's, as `orch run show --json` reports them). */
async function runParams(args: string[]) {
  const result = await project.orch(["pipeline", "run", ...args, "--json"]);
  expect(result.code, result.stderr).toBe(0);
  const { runId } = JSON.parse(result.stdout);
  const shown = await project.json(["run", "show", runId, "--json"]);
  return shown.run.parameters;
}

describe("unknown parameters are refused (item 11)", () => {
  const refused: [string, string[], RegExp, RegExp][] = [
    ["a typo", ["src/typed.ts", "--param", "tres=5"], /Unknown parameter "tres" for pipeline "typed"/, /Did you mean "trees"\?/],
    ["a different case", ["src/typed.ts", "--param", "Name=x"], /Unknown parameter "Name"/, /Did you mean "name"\?/],
    ["a name close to nothing", ["src/typed.ts", "--param", "completely_unrelated=1"], /Unknown parameter "completely_unrelated"/, /Its parameters: name, trees, verbose, tags, options, level/],
    ["one from the run config", ["src/typed.ts", "--config", "run.yaml"], /Unknown parameter "treez"/, /Did you mean "trees"\?/],
    ["a typo without a schema", ["src/schemaless.ts#schemaless", "--param", "tree=5"], /Unknown parameter "tree" for pipeline "schemaless"/, /Did you mean "trees"\?/],
    ["any for a pipeline without parameters", ["src/schemaless.ts#none", "--param", "x=1"], /Pipeline "none" takes no parameters, but got "x"/, /params: z\.object/],
    ["an empty key", ["src/typed.ts", "--param", "=5"], /Invalid --param "=5"/, /--param key=value/],
  ];

  beforeAll(() => {
    project.write("run.yaml", "parameters:\n  treez: 5\n");
  });

  it.each(refused)("%s: exit 2 with did-you-mean, and no run recorded", async (_, args, message, hint) => {
    const before = (await project.json(["run", "list", "--json"])).length;
    const result = await project.orch(["pipeline", "run", ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(new RegExp(`^hint: .*${hint.source}`, "m"));
    expect((await project.json(["run", "list", "--json"])).length).toBe(before);
  });

  it("the same through --json: the error on stdout", async () => {
    const result = await project.orch(["pipeline", "run", "src/typed.ts", "--param", "tres=5", "--json"]);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: "E_PARAMS_INVALID", message: 'Unknown parameter "tres" for pipeline "typed".', hint: expect.stringMatching(/^Did you mean "trees"\?/) } });
  });

  it("pipeline compile refuses them too", async () => {
    const result = await project.orch(["pipeline", "compile", "src/typed.ts", "--out", "out", "--param", "tres=5"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown parameter "tres"/);
  });
});

describe("--param values are read as the schema says (item 18)", () => {
  it("gives a string parameter the text, a number parameter a number, a boolean true/false, arrays and objects JSON", async () => {
    const params = await runParams(["src/typed.ts", "--param", "name=123", "--param", "trees=7", "--param", "verbose=yes", "--param", 'tags=["a","b"]', "--param", 'options={"depth":3}', "--param", "level=high"]);
    expect(params).toEqual({ name: "123", trees: 7, verbose: true, tags: ["a", "b"], options: { depth: 3 }, level: "high" });
  });

  it("keeps the text of string parameters that look like other JSON, and unquotes a quoted one", async () => {
    expect((await runParams(["src/typed.ts", "--param", "name=true"])).name).toBe("true");
    expect((await runParams(["src/typed.ts", "--param", "name=[1]"])).name).toBe("[1]");
    expect((await runParams(["src/typed.ts", "--param", 'name="quoted"'])).name).toBe("quoted");
    expect((await runParams(["src/typed.ts", "--param", "name="])).name).toBe("");
    expect((await runParams(["src/typed.ts", "--param", "name=ünïcødé 🚀"])).name).toBe("ünïcødé 🚀");
  });

  it("reads a number written for a string parameter in the run config as its text", async () => {
    project.write("string.yaml", "parameters:\n  name: 123\n  trees: 9\n");
    expect(await runParams(["src/typed.ts", "--config", "string.yaml"])).toMatchObject({ name: "123", trees: 9 });
  });

  it.each([
    ["a word for a number", ["trees=many"], /Parameter "trees" must be a number, got "many"/],
    ["an empty number", ["trees="], /Parameter "trees" must be a number/],
    ["a word for a boolean", ["verbose=maybe"], /Parameter "verbose" must be true or false/],
    ["text for an array", ["tags=a,b"], /Parameter "tags" takes JSON/],
    ["a value outside the enum", ["level=medium"], /Invalid parameters for pipeline "typed": level/],
  ])("refuses %s with a hint, exit 2", async (_, params, message) => {
    const result = await project.orch(["pipeline", "run", "src/typed.ts", ...params.flatMap((p) => ["--param", p])]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^hint: /m);
  });

  it("without a schema, values are JSON when they parse, else text", async () => {
    project.write("src/loose.ts", `import { step, pipeline } from "@orch/core";\nexport const echo = step({ name: "echo" }, async (p: unknown) => p);\nexport const loose = pipeline({ name: "loose", cache: false }, (p: { a?: unknown; b?: unknown }) => { echo([p.a, p.b]); });\n`);
    expect(await runParams(["src/loose.ts", "--param", "a=5", "--param", "b=five"])).toEqual({ a: 5, b: "five" });
  });
});

describe("errors while loading and compiling a pipeline (item 14)", () => {
  const cases: [string, string, RegExp, RegExp][] = [
    [
      "a pipeline function that throws",
      `import { step, pipeline } from "@orch/core";\nconst a = step({ name: "a" }, async (x: string) => x);\nconst config: any = undefined;\nexport const broken = pipeline({ name: "broken" }, () => {\n  a(config.id);\n});\n`,
      /^error: Pipeline "broken" failed while compiling at src\/case\.ts:5:\d+: TypeError: Cannot read properties of undefined \(reading 'id'\)$/m,
      /^hint: Fix the pipeline function \(src\/case\.ts:5:\d+\)/m,
    ],
    [
      "a pipeline function that throws a string",
      `import { pipeline } from "@orch/core";\nexport const broken = pipeline({ name: "broken" }, () => {\n  throw "nope";\n});\n`,
      /^error: Pipeline "broken" failed while compiling.*: threw nope$/m,
      /^hint: Fix the pipeline function/m,
    ],
    [
      "a TypeScript syntax error",
      `import { step, pipeline } from "@orch/core";\nconst a = step({ name: "a" }, async () => 1;\nexport const p = pipeline({ name: "p" }, () => { a(); });\n`,
      /^error: Syntax error at src\/case\.ts:2:43: Expected "\)" but found ";"$/m,
      /^hint: Fix the syntax there/m,
    ],
    [
      "an error thrown while the module loads",
      `import { pipeline } from "@orch/core";\nexport const p = pipeline({ name: "p" }, () => {});\nconst settings: any = null;\nexport const depth = settings.depth;\n`,
      /^error: Could not load src\/case\.ts \(error at src\/case\.ts:4:\d+\): TypeError: Cannot read properties of null \(reading 'depth'\)$/m,
      /^hint: Fix the error in that file/m,
    ],
  ];

  it.each(cases)("%s: exit 2 with the user's file:line, never 'looks like a bug'", async (_, source, message, hint) => {
    project.write("src/case.ts", source);
    const result = await project.orch(["pipeline", "run", "src/case.ts"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(hint);
    expect(result.stderr).not.toMatch(/looks like a bug|Transform failed/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("a JavaScript syntax error names the file and line", async () => {
    project.write("src/plain.js", `import { pipeline } from "@orch/core";\n\nexport const p = pipeline({ name: "p" }, () => { return ; ) });\n`);
    const result = await project.orch(["pipeline", "run", "src/plain.js"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: Syntax error at src\/plain\.js:3(:\d+)?: Unexpected token/m);
  });

  it.each([
    ["the project's .orch is a file", (dir: string) => project.write(join(dir, ".orch"), "not a folder"), /^error: Cannot mkdir .*\.orch: .*\.orch is a file, not a folder/m],
    ["the index is not a database", (dir: string) => project.write(join(dir, ".orch", "orch.db"), "garbage ".repeat(1000)), /^error: The orch index .*orch\.db is damaged \(not an SQLite database\); orch will not overwrite it/m],
  ])("an environment problem (%s) says what is wrong with which path, exit 2", async (_, setup, message) => {
    const dir = `env-${Math.random().toString(36).slice(2, 8)}`;
    project.write(join(dir, "package.json"), "{}");
    setup(dir);
    const result = await project.orch(["stack", "list"], { cwd: join(project.dir, dir) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/looks like a bug/);
  });

  it("ORCH_HOME under a regular file is named, exit 2", async () => {
    const result = await project.orch(["init"], { env: { ORCH_HOME: join(project.dir, "package.json", ".orch") } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/package\.json.*(a file is in the way|not a folder)/);
  });
});

describe("secrets (item 24)", () => {
  it("register --json, update --json and describe never print a password, token or key, at any depth", async () => {
    const registered = await project.orch(["container-registry", "register", "ghcr", "--flavor=github", "--uri=ghcr.io/acme", "--username=bot", "--password=hunter2", "--json"]);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).not.toContain("hunter2");
    expect(JSON.parse(registered.stdout)).toMatchObject({ config: { password: "********", username: "bot", uri: "ghcr.io/acme" } });
    const updated = await project.orch(["container-registry", "update", "ghcr", "--password=s3cr3t-2", "--json"]);
    expect(updated.stdout).not.toContain("s3cr3t-2");
    for (const args of [["container-registry", "describe", "ghcr"], ["container-registry", "describe", "ghcr", "--json"], ["container-registry", "list", "--json"]]) {
      const result = await project.orch(args);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toMatch(/hunter2|s3cr3t-2/);
    }
  });

  it("redacts secrets nested in maps of a component config (a plugin schema with env-like maps)", async () => {
    // A third-party flavor whose config has maps, like env / buildArgs / podSettings.env.
    project.write(
      "plugins/mapstore.js",
      `import { z } from "@orch/core";
import { defineOrchestrator } from "@orch/core/plugin";
export default defineOrchestrator({
  flavor: "mapstore",
  configSchema: z.object({
    env: z.record(z.string(), z.string()).default({}),
    buildArgs: z.record(z.string(), z.string()).default({}),
    podSettings: z.object({ env: z.record(z.string(), z.string()).optional() }).optional(),
    apiEndpoint: z.string().optional(),
  }).strict(),
  capabilities: { dynamic: false, schedules: { cron: false, interval: false, once: false, manage: false }, retries: "runner", resources: "none", stop: false, logs: false, parallel: false, requires: { remoteArtifactStore: false, containerRegistry: false } },
  async create() { return { flavor: "mapstore", async submit() { throw new Error("not for running"); } }; },
});
`,
    );
    const result = await project.orch([
      "orchestrator",
      "register",
      "maps",
      "--flavor=mapstore",
      `--package=${join(project.dir, "plugins", "mapstore.js")}`,
      '--env={"DB_PASSWORD":"pw-1","HOME":"/home/app"}',
      '--build_args={"NPM_TOKEN":"npm-2","NODE_ENV":"production"}',
      '--pod_settings={"env":{"AWS_SECRET_ACCESS_KEY":"aws-3","REGION":"eu"}}',
      "--api_endpoint=https://api.example",
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    for (const text of [result.stdout, (await project.orch(["orchestrator", "describe", "maps"])).stdout, (await project.orch(["orchestrator", "describe", "maps", "--json"])).stdout]) {
      expect(text).not.toMatch(/pw-1|npm-2|aws-3/);
      expect(text).toMatch(/home\/app/);
      expect(text).toMatch(/production/);
      expect(text).toMatch(/https:\/\/api\.example/);
    }
  });

  it("creates .orch/ readable by its owner only (0700) and orch.db 0600", async () => {
    const fresh = createProject("perms");
    try {
      expect((await fresh.orch(["init"])).code).toBe(0);
      expect(statSync(join(fresh.dir, ".orch")).mode & 0o777).toBe(0o700);
      expect(statSync(join(fresh.dir, ".orch", "orch.db")).mode & 0o777).toBe(0o600);
      // a run (WAL files while open) does not loosen it
      fresh.write("src/p.ts", `import { step, pipeline } from "@orch/core";\nconst a = step({ name: "a" }, async () => 1);\nexport const p = pipeline({ name: "p" }, () => { a(); });\n`);
      expect((await fresh.orch(["pipeline", "run", "src/p.ts"])).code).toBe(0);
      expect(statSync(join(fresh.dir, ".orch", "orch.db")).mode & 0o777).toBe(0o600);
    } finally {
      fresh.remove();
    }
  });
});
