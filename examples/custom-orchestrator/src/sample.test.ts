import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createClient, isOrchError } from "@orch/core";
import { resolvePlugin } from "@orch/core/host";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function runMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", "src/main.ts"], { cwd: projectRoot, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("sample project on a third-party orchestrator", () => {
  it("finds the subprocess flavor by name in the project's own packages", async () => {
    const plugin = await resolvePlugin("orchestrator", "subprocess", { projectRoot });
    expect(plugin.flavor).toBe("subprocess");
    expect(plugin.kind).toBe("orchestrator");
  });

  it("names every package it tried when the flavor is misspelled", async () => {
    const error = await resolvePlugin("orchestrator", "subprocesss", { projectRoot }).catch((e: unknown) => e);
    expect(isOrchError(error) && error.code).toBe("E_FLAVOR_NOT_FOUND");
    expect((error as Error).message).toContain("@orch/plugin-subprocesss, orch-plugin-subprocesss");
  });

  it("runs the pipeline with each step in its own process (pnpm start)", async () => {
    const artifacts = await mkdtemp(join(tmpdir(), "orch-sample-"));
    dirs.push(artifacts);
    const { code, stdout, stderr } = await runMain({ ORCH_ARTIFACTS: artifacts });
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain("top words: and:3, better:3, is:3");

    const client = createClient(artifacts);
    const [run] = await client.listRuns({ pipeline: "word_stats" });
    expect(run).toMatchObject({ status: "succeeded", orchestrator: "subprocess", stack: "procs" });
    const steps = await client.getSteps(run!.runId);
    expect(steps.map((s) => s.stepId).sort()).toEqual(
      ["count_words", "count_words_2", "count_words_3", "load_document", "load_document_2", "load_document_3", "merge_counts", "top_words"].sort(),
    );
    // Every step ran in a process of its own, none in the process that drove the run.
    const pids = steps.map((s) => s.metadata.pid);
    expect(new Set(pids).size).toBe(steps.length);
    expect(pids).not.toContain(run!.pid);
    expect(await client.loadOutput(run!.runId, "top_words")).toEqual(["and:3", "better:3", "is:3"]);
  });
});
