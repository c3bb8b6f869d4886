import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_DIR, SIMPLE_PIPELINE, createProject, type TempProject } from "./harness.js";

const FIXTURE = join(PACKAGE_DIR, "test", "fixtures", "orch-plugin-echo");
let project: TempProject;
let tarball: string;

beforeAll(async () => {
  // An npm project (packageManager field), so `orch integration install` uses npm.
  project = createProject("integrations", { packageManager: "npm@10.9.0" });
  project.write("src/demo.ts", SIMPLE_PIPELINE);
  expect((await project.orch(["init"])).code).toBe(0);
  const name = execFileSync("npm", ["pack", FIXTURE, "--pack-destination", project.dir, "--silent"], { cwd: project.dir, encoding: "utf8" }).trim().split("\n").pop()!;
  tarball = join(project.dir, name);
});
afterAll(() => project?.remove());

describe("orch integration", () => {
  it("installs a plugin offline from a local tarball with the project's package manager", async () => {
    const dryRun = await project.orch(["integration", "install", "kubernetes", "--dry-run"]);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stderr).toContain("$ npm install --no-audit --no-fund @orch/plugin-kubernetes");

    const result = await project.orch(["integration", "install", `./${tarball.split("/").pop()}`], { env: { npm_config_offline: "true" } });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(project.dir, "node_modules", "orch-plugin-echo", "package.json"))).toBe(true);
    const list = await project.json(["integration", "list", "--json"]);
    expect(list).toContainEqual(expect.objectContaining({ flavor: "echo", package: "orch-plugin-echo", installed: true, version: "1.0.0", source: "third-party" }));
    expect(list).toContainEqual(expect.objectContaining({ flavor: "kubernetes", installed: false }));
  });

  it("loads the new flavor by naming convention alone in the next pipeline run", async () => {
    const register = await project.orch(["orchestrator", "register", "echo", "--flavor=echo", "--greeting=bonjour", "--api_token=s3cret"]);
    expect(register.code, register.stderr).toBe(0);
    const described = await project.json(["orchestrator", "describe", "echo", "--json"]);
    expect(described.config).toEqual({ greeting: "bonjour", apiToken: "********" });
    expect((await project.orch(["stack", "register", "echoes", "-o", "echo", "--set"])).code).toBe(0);
    const run = await project.orch(["pipeline", "run", "src/demo.ts"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("echo plugin says bonjour");
    const [latest] = await project.json(["run", "list", "--json", "-n", "1"]);
    expect(latest).toMatchObject({ stack: "echoes", orchestrator: "echo", status: "succeeded" });
    const flavors = await project.json(["orchestrator", "flavor", "list", "--json"]);
    expect(flavors).toContainEqual(expect.objectContaining({ flavor: "echo", source: "third-party", kind: "orchestrator" }));
  });

  it("compiles a pipeline to the flavor's native files, and refuses flavors without compile", async () => {
    const result = await project.orch(["pipeline", "compile", "src/demo.ts", "--stack", "echoes", "--out", "build"]);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(project.dir, "build", "echo", "pipeline.txt"), "utf8")).toBe("bonjour demo: load -> sum\n");
    expect(JSON.parse(readFileSync(join(project.dir, "build", "snapshot.json"), "utf8"))).toMatchObject({ pipeline: { name: "demo" }, order: ["load", "sum"] });
    const local = await project.orch(["pipeline", "compile", "src/demo.ts", "--stack", "default", "--out", "build2"]);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/^error: The local orchestrator of stack "default" has no native format to compile to\.\nhint: /);
    expect(existsSync(join(project.dir, "build2"))).toBe(false);
  });

  it("hands schedules to an orchestrator with its own scheduler, and deletes them there", async () => {
    project.write("src/nightly.ts", `import { step, pipeline } from "@orch/core";\nconst a = step({ name: "a" }, async () => 1);\nexport const nightly = pipeline({ name: "nightly", schedule: { cron: "0 2 * * *" } }, () => { a(); });\n`);
    const result = await project.orch(["pipeline", "run", "src/nightly.ts", "--stack", "echoes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(project.dir, "echo-schedules.json"), "utf8"))).toEqual({ "echo-nightly": { pipeline: "nightly", schedule: expect.objectContaining({ cron: "0 2 * * *" }) } });
    const schedules = await project.json(["schedule", "list", "--json"]);
    expect(schedules).toEqual([expect.objectContaining({ id: "nightly@echoes", managedBy: "native", nativeId: "echo-nightly" })]);
    expect((await project.orch(["schedule", "delete", "nightly@echoes"])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(project.dir, "echo-schedules.json"), "utf8"))).toEqual({});
  });

  it("uninstalls a plugin by flavor", async () => {
    expect((await project.orch(["stack", "set", "default"])).code).toBe(0);
    const result = await project.orch(["integration", "uninstall", "echo"], { env: { npm_config_offline: "true" } });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(project.dir, "node_modules", "orch-plugin-echo"))).toBe(false);
    const missing = await project.orch(["integration", "uninstall", "echo"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: No installed plugin for "echo"\.\nhint: /);
  });
});
