/**
 * End to end through the real `orch` binary (a child process) in a fresh project that has this plugin
 * installed (linked into its node_modules, as `npm link` would): register an azure artifact store with a
 * connection string, a stack with the local orchestrator, run a pipeline, and find its journal in the
 * Azurite container with the plain SDK. The connection string never shows in the CLI's output.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobNames, blobText, DEV_KEY, useAzurite } from "../test/azurite.js";

const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const orchBin = join(createRequire(import.meta.url).resolve("@orch/cli/package.json"), "..", "bin", "orch.js");

const azurite = useAzurite();
let project: string;
beforeAll(() => {
  // Inside this package, so the project's own dependencies (@orch/core, @orch/plugin-local) resolve from its node_modules.
  mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
  project = mkdtempSync(join(pluginRoot, ".tmp", "cli-"));
  mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
  symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-azure"), "dir");
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "azure-cli-e2e", private: true, type: "module" }));
  writeFileSync(
    join(project, "pipeline.ts"),
    `import { step, pipeline, getStepContext } from "@orch/core";
export const load = step({ name: "load" }, async () => { getStepContext().logger.info("loading three numbers"); return [1, 2, 3]; });
export const sum = step({ name: "sum" }, async (xs: number[]) => xs.reduce((a, b) => a + b, 0));
export const demo = pipeline({ name: "demo" }, () => { sum(load()); });
`,
  );
});
afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

function orch(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ORCH_CLI_FROM_SOURCE: "1", NO_COLOR: "1" };
  delete env.NODE_OPTIONS;
  delete env.ORCH_HOME;
  for (const key of Object.keys(env)) if (key.startsWith("AZURE_")) delete env[key];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [orchBin, ...args], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(...args: string[]) {
  const result = await orch(...args);
  expect(result.code, `orch ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout + result.stderr).not.toContain(DEV_KEY);
  return result.stdout;
}

describe("orch CLI with an azure artifact store", () => {
  it("registers the store, runs a pipeline on local + azure, and the journal is in the container", async () => {
    const container = await azurite.container("cli");
    await ok("init");
    expect(await ok("artifact-store", "flavor", "list")).toMatch(/^azure +@orch\/plugin-azure +0\.1\.0 +first-party$/m);
    await ok("artifact-store", "register", "blob", "--flavor=azure", `--path=az://${container}/orch`, `--connection_string=${azurite.connectionString}`);
    const described = await ok("artifact-store", "describe", "blob");
    expect(described).toContain("connectionString: \"********\"");
    expect(described).toContain(`path: "az://${container}/orch"`);
    // accountKey is secret by its schema (.meta({ secret: true })), not by its name.
    await ok("artifact-store", "register", "keyed", "--flavor=azure", `--path=az://${container}/other`, "--account=devstoreaccount1", `--account_key=${DEV_KEY}`);
    expect(await ok("artifact-store", "describe", "keyed")).toContain('accountKey: "********"');
    await ok("stack", "register", "cloud", "-o", "default", "-a", "blob", "--set");

    const run = JSON.parse(await ok("pipeline", "run", "pipeline.ts", "--json")) as { runId: string; status: string };
    expect(run.status).toBe("succeeded");

    const names = await blobNames(azurite.service, container, `orch/runs/${run.runId}/`);
    expect(names).toEqual(expect.arrayContaining([`logs/load.log`, `run.json`, `snapshot.json`, `steps/load.json`, `steps/sum.json`].map((k) => `orch/runs/${run.runId}/${k}`)));
    expect(JSON.parse((await blobText(azurite.service, container, `orch/runs/${run.runId}/run.json`))!)).toMatchObject({ status: "succeeded", pipeline: "demo" });
    expect(await blobText(azurite.service, container, `orch/runs/${run.runId}/logs/load.log`)).toContain("loading three numbers");
    expect((await blobNames(azurite.service, container, "orch/artifacts/")).length).toBeGreaterThan(0);
    // The CLI reads the step log back out of the container.
    expect(await ok("run", "logs", run.runId)).toMatch(/^load \| .* INFO +loading three numbers$/m);
    expect(await ok("run", "show", run.runId)).toMatch(/✓ sum +succeeded/);
  });

  it("refuses a bad container name at registration, naming the rule", async () => {
    await ok("init");
    const result = await orch("artifact-store", "register", "bad", "--flavor=azure", "--path=az://Bad_Container/orch", `--connection_string=${azurite.connectionString}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('container name "Bad_Container" is not valid in Azure: it must be lower-case');
    expect(result.stderr).not.toContain(DEV_KEY);
  });
});
