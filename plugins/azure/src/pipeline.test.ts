/**
 * End to end in-process: a real pipeline runs through `pipeline.run()` on a `local` orchestrator + `azure`
 * store stack against Azurite. The journal, logs and artifacts are checked in the container with the plain
 * SDK — including a step's log lines while that step is still running.
 */
import { fileURLToPath } from "node:url";
import { defineStack, getStepContext, pipeline, step } from "@orch/core";
import { local } from "@orch/plugin-local";
import { describe, expect, it } from "vitest";
import { blobNames, blobText, useAzurite } from "../test/azurite.js";
import { azure } from "./index.js";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));

const azurite = useAzurite();

let openGate: () => void = () => {};
const gate = new Promise<void>((resolve) => (openGate = resolve));

const produce = step({ name: "produce" }, async () => {
  getStepContext().logger.info("hello from produce");
  await gate; // the test reads the log from the container before letting the step finish
  getStepContext().logger.info("produce done");
  return [1, 2, 3];
});
const total = step({ name: "total" }, async (xs: number[]) => xs.reduce((a, b) => a + b, 0));
const demo = pipeline({ name: "azure_e2e", cache: false }, () => {
  total(produce());
});

async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a pipeline on a local + azure stack", () => {
  it("runs, keeps its journal in the container, and its logs are readable while a step runs", async () => {
    const container = await azurite.container("e2e");
    const stack = defineStack({
      name: "azure_e2e",
      orchestrator: local({ maxParallelism: 2 }),
      artifactStore: azure({ path: `az://${container}/orch`, connectionString: azurite.connectionString }),
    });
    const running = demo.run({ stack, projectRoot, handleSignals: false });

    const logName = await until(async () => (await blobNames(azurite.service, container, "orch/runs/")).find((n) => n.endsWith("/logs/produce.log")), "the produce log");
    const runId = logName.split("/")[2]!;
    const liveLog = await until(async () => {
      const log = await blobText(azurite.service, container, logName);
      return log?.includes("hello from produce") ? log : undefined;
    }, "the first log line");
    expect(liveLog).not.toContain("produce done");
    const runRecord = JSON.parse((await blobText(azurite.service, container, `orch/runs/${runId}/run.json`))!);
    expect(runRecord.status).toBe("running");

    openGate();
    const result = await running;
    expect(result.runId).toBe(runId);
    expect(result.status).toBe("succeeded");
    expect(await result.load(total)).toBe(6);

    const names = await blobNames(azurite.service, container, "orch/");
    for (const key of [`runs/${runId}/snapshot.json`, `runs/${runId}/run.json`, `runs/${runId}/steps/produce.json`, `runs/${runId}/steps/total.json`, `runs/${runId}/logs/produce.log`]) {
      expect(names, key).toContain(`orch/${key}`);
    }
    expect(names.filter((n) => /^orch\/artifacts\/[^/]+$/.test(n)).length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse((await blobText(azurite.service, container, `orch/runs/${runId}/run.json`))!).status).toBe("succeeded");
    expect(JSON.parse((await blobText(azurite.service, container, `orch/runs/${runId}/steps/total.json`))!).status).toBe("succeeded");
    expect(await blobText(azurite.service, container, logName)).toMatch(/hello from produce\n.*produce done\n$/s);
  });
});
