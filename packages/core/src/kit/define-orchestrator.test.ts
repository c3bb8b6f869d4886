import { z } from "zod";
import { describe, expect, it } from "vitest";
import { CONSERVATIVE_CAPABILITIES } from "../plugins/capabilities-schema.js";
import { createLocalArtifactStore } from "../store/local-store.js";
import { writeRunRecord } from "../store/journal.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { defineOrchestrator } from "./define-orchestrator.js";

const configSchema = z.object({ n: z.number().default(1) }).strict();
const submit = async () => ({ runId: "x", wait: async () => ({}) as never });

describe("defineOrchestrator", () => {
  it("loads the runtime module only when create() is called", async () => {
    let loads = 0;
    const plugin = defineOrchestrator({
      flavor: "lazy",
      configSchema,
      runtime: async () => {
        loads++;
        return { createOrchestrator: (config: { n: number }) => ({ flavor: `lazy-${config.n}`, submit }) };
      },
    });
    expect(loads).toBe(0);
    const store = createLocalArtifactStore(tempDir());
    const runtime = await plugin.create({ n: 3 }, { projectRoot: "/", stackName: "s", artifactStore: store });
    expect(loads).toBe(1);
    expect(runtime.flavor).toBe("lazy-3");
  });

  it("gives undeclared capabilities the conservative value, merging schedules and requires key by key", () => {
    const plugin = defineOrchestrator({ flavor: "partial", configSchema, capabilities: { dynamic: true, schedules: { cron: true } }, runtime: async () => ({ createOrchestrator: () => ({ flavor: "partial", submit }) }) });
    expect(plugin.capabilities).toEqual({ ...CONSERVATIVE_CAPABILITIES, dynamic: true, schedules: { ...CONSERVATIVE_CAPABILITIES.schedules, cron: true } });
    expect(CONSERVATIVE_CAPABILITIES).toMatchObject({ dynamic: false, resources: "none", stop: false, logs: false, parallel: false });
  });

  it("refuses unknown or misspelled capabilities, naming each", () => {
    const define = () =>
      defineOrchestrator({ flavor: "typo", configSchema, capabilities: { resources: "all" as never, paralel: true } as never, runtime: async () => ({ createOrchestrator: () => ({ flavor: "typo", submit }) }) });
    expect(define).toThrow(expect.objectContaining({ code: "E_PLUGIN_INVALID", message: expect.stringMatching(/capabilities\.resources[\s\S]*paralel/) }));
  });

  it("refuses a runtime module without createOrchestrator when it is loaded", async () => {
    const plugin = defineOrchestrator({ flavor: "empty", configSchema, runtime: async () => ({}) as never });
    await expect(plugin.create({ n: 1 }, { projectRoot: "/", stackName: "s", artifactStore: createLocalArtifactStore(tempDir()) })).rejects.toMatchObject({ code: "E_PLUGIN_INVALID", flavor: "empty" });
  });

  it("answers status and logs from the journal when the runtime has neither", async () => {
    const store = createLocalArtifactStore(tempDir());
    const plugin = defineOrchestrator({ flavor: "bare", configSchema, runtime: async () => ({ createOrchestrator: () => ({ flavor: "bare", submit }) }) });
    const runtime = await plugin.create({ n: 1 }, { projectRoot: "/", stackName: "s", artifactStore: store });
    await writeRunRecord(store, { runId: "r1", pipeline: "p", pipelineHash: "h", status: "succeeded", startedAt: new Date().toISOString(), parameters: {} });
    await store.write("runs/r1/logs/a.log", "one\ntwo\n");
    expect(await runtime.status!("r1")).toBe("succeeded");
    const lines: string[] = [];
    for await (const line of runtime.logs!("r1", "a")) lines.push(line);
    expect(lines).toEqual(["one", "two"]);
  });

  it("keeps a runtime's own status and logs", async () => {
    const store = createLocalArtifactStore(tempDir());
    const plugin = defineOrchestrator({
      flavor: "own",
      configSchema,
      runtime: async () => ({
        createOrchestrator: () => ({
          flavor: "own",
          submit,
          status: async () => "running" as const,
          async *logs() {
            yield "from the backend";
          },
        }),
      }),
    });
    const runtime = await plugin.create({ n: 1 }, { projectRoot: "/", stackName: "s", artifactStore: store });
    expect(await runtime.status!("nope")).toBe("running");
    const lines: string[] = [];
    for await (const line of runtime.logs!("r", "s")) lines.push(line);
    expect(lines).toEqual(["from the backend"]);
  });
});
