/**
 * What a script can trust (issue 9, items 12, 13, 17): with --json, stdout holds exactly one JSON
 * document (or JSON lines for `run logs`), errors included; a closed pipe ends the command quietly;
 * user input is clipped in messages; flavors read as the seed spells them.
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_DIR, SIMPLE_PIPELINE, createProject, type TempProject } from "./harness.js";

let project: TempProject;

/** A pipeline whose module and steps print to stdout every way user code does. */
const NOISY_PIPELINE = `
import { step, pipeline } from "@orch/core";
console.log("module top-level console.log");
export const chatty = step({ name: "chatty" }, async () => {
  console.log("step console.log");
  console.info("step console.info");
  console.error("step console.error");
  process.stdout.write("step process.stdout.write\\n");
  return 1;
});
export const noisy = pipeline({ name: "noisy", cache: false }, () => { chatty(); });
`;

const FAILING_PIPELINE = `
import { step, pipeline } from "@orch/core";
export const boom = step({ name: "boom" }, async () => { console.log("about to fail"); throw new Error("kaboom"); });
export const failing = pipeline({ name: "failing", cache: false }, () => { boom(); });
`;

beforeAll(async () => {
  project = createProject("json-output");
  project.write("src/demo.ts", SIMPLE_PIPELINE);
  project.write("src/noisy.ts", NOISY_PIPELINE);
  project.write("src/failing.ts", FAILING_PIPELINE);
  expect((await project.orch(["init"])).code).toBe(0);
  expect((await project.orch(["pipeline", "run", "src/demo.ts"])).code).toBe(0);
});
afterAll(() => project?.remove());

describe("orch pipeline run --json (item 12)", () => {
  it("prints only JSON on stdout while steps and the module console.log; their output goes to stderr", async () => {
    const result = await project.orch(["pipeline", "run", "src/noisy.ts", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ status: "succeeded", pipeline: "noisy", steps: [{ id: "chatty", status: "succeeded" }] });
    expect(result.stdout).not.toMatch(/console|process\.stdout/);
    for (const text of ["module top-level console.log", "step console.log", "step console.info", "step process.stdout.write"]) expect(result.stderr).toContain(text);
  });

  it("a file that runs its pipeline while being imported still gives one JSON document", async () => {
    project.write("src/self-running.ts", `${NOISY_PIPELINE.replace('"noisy"', '"self_running"')}\nawait noisy.run();\n`);
    const result = await project.orch(["pipeline", "run", "src/self-running.ts", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ranOnImport: true, runs: [{ pipeline: "self_running", status: "succeeded" }] });
  });

  it("without --json the step output still reaches the terminal as before", async () => {
    const result = await project.orch(["pipeline", "run", "src/noisy.ts"]);
    expect(result.code, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain("step console.log");
  });

  it("a failed run is one JSON document with the error in it, exit 1", async () => {
    const result = await project.orch(["pipeline", "run", "src/failing.ts", "--json"]);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ status: "failed", steps: [{ id: "boom", status: "failed" }], error: { message: expect.stringContaining("kaboom"), hint: expect.stringContaining("orch run logs") } });
    expect(typeof parsed.error.code).toBe("string");
    expect(result.stderr).toMatch(/^error: step boom failed: kaboom$/m);
  });
});

describe("--json errors (item 13)", () => {
  const missingHome = () => ({ ORCH_HOME: join(project.dir, "nowhere", ".orch") });
  // Every command with --json and one way to make it fail: exit 2 (or 1), one { error } document on stdout.
  const failures: [string, string[], ("outside" | Record<string, string>)?][] = [
    ["init under a file", ["init", "--json"], { ORCH_HOME: join("package.json", ".orch") }],
    ["orchestrator register", ["orchestrator", "register", "x", "--flavor=kubernets", "--json"]],
    ["orchestrator list outside a project", ["orchestrator", "list", "--json"], "outside"],
    ["orchestrator describe", ["orchestrator", "describe", "nope", "--json"]],
    ["orchestrator update", ["orchestrator", "update", "nope", "--max_parallelism=2", "--json"]],
    ["orchestrator delete", ["orchestrator", "delete", "nope", "--json"]],
    ["orchestrator flavor list outside a project", ["orchestrator", "flavor", "list", "--json"], "outside"],
    ["artifact-store describe", ["artifact-store", "describe", "nope", "--json"]],
    ["container-registry register", ["container-registry", "register", "r", "--flavor=github", "--json"]],
    ["stack register", ["stack", "register", "s", "-o", "nope", "--json"]],
    ["stack list outside a project", ["stack", "list", "--json"], "outside"],
    ["stack describe", ["stack", "describe", "nope", "--json"]],
    ["stack copy", ["stack", "copy", "nope", "other", "--json"]],
    ["stack update", ["stack", "update", "nope", "-o", "default", "--json"]],
    ["stack set", ["stack", "set", "nope", "--json"]],
    ["stack delete", ["stack", "delete", "default", "--json"]],
    ["integration install", ["integration", "install", "Not A Flavor!", "--dry-run", "--json"]],
    ["integration uninstall", ["integration", "uninstall", "nope", "--json"]],
    ["pipeline run", ["pipeline", "run", "src/missing.ts", "--json"]],
    ["pipeline compile", ["pipeline", "compile", "src/demo.ts", "--out", "out", "--json"]],
    ["pipeline list outside a project", ["pipeline", "list", "--json"], "outside"],
    ["run list", ["run", "list", "--status", "bogus", "--json"]],
    ["run show", ["run", "show", "nope", "--json"]],
    ["run logs", ["run", "logs", "nope", "--json"]],
    ["run stop", ["run", "stop", "nope", "--json"]],
    ["run resume", ["run", "resume", "nope", "--json"]],
    ["run delete", ["run", "delete", "nope", "--json"]],
    ["schedule list outside a project", ["schedule", "list", "--json"], "outside"],
    ["schedule delete", ["schedule", "delete", "nope", "--json"]],
    ["schedule serve", ["schedule", "serve", "--poll", "1", "--json"]],
    ["an unknown command", ["stak", "list", "--json"]],
    ["an unknown option", ["stack", "list", "--bogus", "--json"]],
    ["a missing argument", ["stack", "set", "--json"]],
  ];

  it.each(failures)("%s: exit 2 and { error: { code, message, hint } } on stdout", async (_, args, env) => {
    const result = await project.orch(args, { env: env === "outside" ? missingHome() : (env ?? {}) });
    expect(result.code, result.stderr).toBe(2);
    const parsed = JSON.parse(result.stdout);
    expect(Object.keys(parsed)).toEqual(["error"]);
    expect(parsed.error).toEqual({ code: expect.stringMatching(/^E_[A-Z_]+$/), message: expect.any(String), hint: expect.any(String) });
    expect(parsed.error.message).not.toMatch(/looks like a bug/);
    // the human form stays on stderr
    expect(result.stderr).toMatch(/^error: /m);
  });

  it("accepts --json on the commands that rejected it and prints what they did", async () => {
    expect(await project.json(["stack", "register", "js", "-o", "default", "--json"])).toMatchObject({ name: "js", orchestrator: "default", artifactStore: "default", active: false });
    expect(await project.json(["stack", "copy", "js", "js2", "--json"])).toMatchObject({ name: "js2", copiedFrom: "js" });
    expect(await project.json(["stack", "update", "js2", "-a", "default", "--json"])).toMatchObject({ name: "js2", artifactStore: "default" });
    expect(await project.json(["stack", "set", "js2", "--json"])).toMatchObject({ name: "js2", active: true });
    expect(await project.json(["stack", "set", "default", "--json"])).toMatchObject({ name: "default", active: true });
    expect(await project.json(["stack", "delete", "js2", "--json"])).toEqual({ name: "js2", deleted: true });
    expect(await project.json(["orchestrator", "register", "tmp", "--flavor=local", "--json"])).toMatchObject({ name: "tmp", flavor: "local" });
    expect(await project.json(["orchestrator", "delete", "tmp", "--json"])).toEqual({ kind: "orchestrator", name: "tmp", deleted: true });
    expect(await project.json(["integration", "install", "kubernetes", "--dry-run", "--json"])).toMatchObject({ dryRun: true, installed: [], command: expect.arrayContaining(["@orch/plugin-kubernetes"]) });
  });

  it("run logs --json prints one JSON object per line; run delete --json what it deleted", async () => {
    const failed = await project.orch(["pipeline", "run", "src/failing.ts"]);
    expect(failed.code).toBe(1);
    const [run] = await project.json(["run", "list", "--pipeline", "failing", "--json"]);
    const logs = await project.orch(["run", "logs", run.runId, "--json"]);
    expect(logs.code, logs.stderr).toBe(0);
    const lines = logs.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toEqual({ step: "boom", line: expect.any(String) });
    expect(lines.some((l) => l.line.includes("kaboom"))).toBe(true);
    expect(await project.json(["run", "delete", run.runId, "--json"])).toEqual({ runId: run.runId, deleted: true, journalDeleted: true });
  });
});

describe("pipes, long input, flavor names (item 17)", () => {
  const listings = [["run", "list"], ["run", "list", "--json"], ["stack", "list"], ["stack", "list", "--json"], ["pipeline", "list"], ["orchestrator", "list"], ["orchestrator", "flavor", "list"], ["integration", "list"], ["schedule", "list"], ["--help"]];

  it.each(listings.map((args) => [args.join(" "), args] as const))("orch %s into a closed pipe (| head) exits quietly", async (_, args) => {
    const child = project.start(args);
    child.stdout!.destroy(); // the reader is gone before orch writes anything
    const result = await child.result;
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
    expect(result.code).toBe(0);
  });

  it.each([["run", "show"], ["run", "logs"], ["run", "logs", "--json"], ["run", "show", "--json"]].map((args) => [args.join(" "), args] as const))("orch %s (of a run) into a closed pipe exits quietly", async (_, args) => {
    const [run] = await project.json(["run", "list", "--pipeline", "demo", "--json"]);
    const child = project.start([args[0]!, args[1]!, run.runId, ...args.slice(2)]);
    child.stdout!.destroy();
    const result = await child.result;
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled 'error' event|\n\s+at /);
    expect(result.code).toBe(0);
  });

  const huge = "x".repeat(10_000);
  const cases: [string, string[]][] = [
    ["stack set", ["stack", "set", huge]],
    ["stack register", ["stack", "register", huge, "-o", "default"]],
    ["orchestrator register", ["orchestrator", "register", huge, "--flavor=local"]],
    ["orchestrator describe", ["orchestrator", "describe", huge]],
    ["run show", ["run", "show", huge]],
    ["pipeline run --param", ["pipeline", "run", "src/demo.ts", "--param", `${huge}=1`]],
    ["pipeline run --stack", ["pipeline", "run", "src/demo.ts", "--stack", huge]],
    ["an unknown command", [huge]],
    ["unicode", ["stack", "set", "é".repeat(5_000)]],
  ];

  it.each(cases)("%s with a 10,000-character name clips it in the error", async (_, args) => {
    const result = await project.orch(args);
    expect(result.code).toBe(2);
    expect(result.stderr.length).toBeLessThan(1_000);
    expect(result.stderr).toMatch(/…/);
    expect(result.stderr).toMatch(/^error: /m);
  });

  it.each([
    ["an empty name", ["stack", "register", "", "-o", "default"]],
    ["a whitespace name", ["stack", "register", "  ", "-o", "default"]],
    ["an emoji name", ["stack", "register", "🚀", "-o", "default"]],
    ["a path as a name", ["orchestrator", "register", "../x", "--flavor=local"]],
  ])("refuses %s with a usage error", async (_, args) => {
    const result = await project.orch(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: Invalid .*name/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("shows flavors as the seed spells them (local_docker) wherever they are printed", async () => {
    // installed in the project, as `orch integration install local_docker` would
    mkdirSync(join(project.dir, "node_modules", "@orch"), { recursive: true });
    symlinkSync(join(PACKAGE_DIR, "..", "..", "plugins", "local-docker"), join(project.dir, "node_modules", "@orch", "plugin-local-docker"));
    const registered = await project.orch(["orchestrator", "register", "docker", "--flavor=local-docker", '--env={"DB_PASSWORD":"pw-9","TZ":"UTC"}', '--build_args={"NPM_TOKEN":"npm-9"}']);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain("(flavor local_docker)");
    const all = [
      (await project.orch(["orchestrator", "list"])).stdout,
      (await project.orch(["orchestrator", "list", "--json"])).stdout,
      (await project.orch(["orchestrator", "describe", "docker"])).stdout,
      (await project.orch(["orchestrator", "describe", "docker", "--json"])).stdout,
    ];
    expect((await project.orch(["stack", "register", "dock", "-o", "docker"])).code).toBe(0);
    all.push((await project.orch(["stack", "describe", "dock"])).stdout, (await project.orch(["stack", "describe", "dock", "--json"])).stdout);
    for (const text of all) {
      expect(text).toContain("local_docker");
      expect(text).not.toContain("local-docker");
      // (item 24) the plugin's env and buildArgs maps are redacted by key
      expect(text).not.toMatch(/pw-9|npm-9/);
    }
    expect(all[3]).toContain('"TZ": "UTC"');
    const invalid = await project.orch(["orchestrator", "register", "bad_docker", "--flavor=local_docker", "--max_parallelism=0"]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^error: \[local_docker\] maxParallelism: /m);
    expect((await project.orch(["stack", "delete", "dock"])).code).toBe(0);
    expect((await project.orch(["orchestrator", "delete", "docker"])).code).toBe(0);
  });
});
