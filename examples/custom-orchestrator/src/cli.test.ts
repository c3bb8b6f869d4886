import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@orch/core";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));

function findCli(): string | undefined {
  try {
    const bin = join(dirname(createRequire(join(projectRoot, "package.json")).resolve("@orch/cli/package.json")), "bin", "orch.js");
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const cli = findCli();
if (!cli) console.warn("[custom-orchestrator] skipping the orch CLI flow: @orch/cli is not installed in this project");

function orch(cwd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // From source in the monorepo (no build needed), like every orch child process here.
    const child = spawn(process.execPath, [cli!, ...args], { cwd, env: { ...process.env, ORCH_CLI_FROM_SOURCE: "1", ORCH_HOME: "", NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

// The user's flow: install the plugin, register it by flavor name, run a pipeline. The project is a
// copy in a temp folder (same packages, linked), so the test leaves no .orch/ behind.
describe.skipIf(!cli)("orch CLI with a third-party flavor", () => {
  let project: string;
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), "orch-custom-project-"));
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "custom-project", private: true, type: "module" }));
    await symlink(join(projectRoot, "node_modules"), join(project, "node_modules"), "dir");
    await mkdir(join(project, "src"));
    await copyFile(join(projectRoot, "src", "pipeline.ts"), join(project, "src", "pipeline.ts"));
  });
  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it("registers the subprocess orchestrator by flavor and runs the pipeline on it", async () => {
    for (const args of [["init"], ["orchestrator", "register", "procs", "--flavor=subprocess", "--max-parallelism=2"], ["stack", "register", "procs", "-o", "procs", "--set"]]) {
      const { code, output } = await orch(project, args);
      expect(code, `orch ${args.join(" ")}\n${output}`).toBe(0);
    }
    const { code, output } = await orch(project, ["pipeline", "run", "src/pipeline.ts", "--param", "limit=2"]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/Run \S+ succeeded/);

    const client = createClient(join(project, ".orch", "artifacts"));
    const [run] = await client.listRuns({ pipeline: "word_stats" });
    expect(run).toMatchObject({ status: "succeeded", orchestrator: "subprocess" });
    expect(await client.loadOutput(run!.runId, "top_words")).toEqual(["and:3", "better:3"]);
  });

  it("says which packages it tried for an unknown flavor", async () => {
    const { code, output } = await orch(project, ["orchestrator", "register", "typo", "--flavor=subprocesss"]);
    expect(code).not.toBe(0);
    expect(output).toContain("orch-plugin-subprocesss");
  });
});
