import { spawn } from "node:child_process";
import { getEventListeners } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { defineOrchestrator } from "../kit/define-orchestrator.js";
import type { Orchestrator } from "../plugins/plugin.js";
import { defineStack } from "../plugins/stack.js";
import { findProjectRoot } from "../project.js";
import { tempDir } from "../__fixtures__/test-stack.js";

// Everything else is the conservative default: not supported.
const capabilities = { resources: "recorded" } as const;

/** A stack whose orchestrator fails at `failAt` (create, preflight or submit). */
function failingStack(dir: string, failAt: "create" | "preflight" | "submit") {
  const plugin = defineOrchestrator({
    flavor: `fails-at-${failAt}`,
    configSchema: z.object({}).strict(),
    capabilities,
    async create(): Promise<Orchestrator> {
      if (failAt === "create") throw new Error("create failed");
      return {
        flavor: `fails-at-${failAt}`,
        async preflight() {
          if (failAt === "preflight") throw new Error("preflight failed");
        },
        async submit() {
          throw new Error("submit failed");
        },
      };
    },
  });
  return defineStack({ name: "failing", orchestrator: { flavor: plugin.flavor, plugin, config: {} }, artifactStore: { flavor: "local", config: { path: `${dir}/artifacts` } } });
}

const one = step({ name: "one" }, () => 1);
const single = pipeline({ name: "single" }, () => void one());

describe("pipeline.run() leaves no listeners behind", () => {
  for (const failAt of ["create", "preflight", "submit"] as const) {
    it(`removes its SIGINT/SIGTERM handlers and its abort listener when ${failAt} throws`, async () => {
      const dir = tempDir();
      const stack = failingStack(dir, failAt);
      const signal = new AbortController().signal;
      const before = { sigint: process.listenerCount("SIGINT"), sigterm: process.listenerCount("SIGTERM") };
      for (let i = 0; i < 5; i++) {
        await expect(single.run({ stack, projectRoot: dir, signal })).rejects.toThrow(`${failAt} failed`);
      }
      expect(process.listenerCount("SIGINT")).toBe(before.sigint);
      expect(process.listenerCount("SIGTERM")).toBe(before.sigterm);
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
    });
  }

  it("a long-lived process that had failing runs still exits on one Ctrl-C (SIGINT)", async () => {
    const dir = tempDir();
    const script = fileURLToPath(new URL("../__fixtures__/failing-runs-script.ts", import.meta.url));
    const child = spawn(process.execPath, ["--conditions=@orch/source", "--import", "tsx", script], {
      cwd: findProjectRoot(),
      env: { ...process.env, ORCH_TEST_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const ready = new Promise<void>((resolve) =>
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        if (stdout.includes("ready")) resolve();
      }),
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    await Promise.race([ready, exited]);
    expect(stdout, stderr).toContain("run 4: backend unavailable");
    expect(stdout).toContain("ready sigint-listeners=0");
    child.kill("SIGINT");
    // With a leaked handler the first SIGINT only "stops" a run that no longer exists, and the process lives on.
    expect(await exited).toEqual({ code: null, signal: "SIGINT" });
  }, 30_000);
});
