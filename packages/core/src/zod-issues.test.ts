// Every zod-backed validation names all of its problems, one line each (not only the first).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "./dsl/pipeline.js";
import { step } from "./dsl/step.js";
import { OrchError } from "./errors.js";
import { parseComponentConfig } from "./plugins/plugin.js";
import { compile } from "./snapshot/compile.js";
import { parseSnapshot } from "./snapshot/snapshot.js";

function caught(fn: () => unknown): OrchError {
  try {
    fn();
  } catch (error) {
    if (error instanceof OrchError) return error;
    throw error;
  }
  throw new Error("expected an OrchError");
}

const noop = step({ name: "noop" }, () => 1);

describe("validation errors report every issue", () => {
  it("step settings: two bad keys are both named", () => {
    const error = caught(() => step({ name: "s", resources: { cpuCount: -1, memory: "4G" } }, () => 1));
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message).toMatch(/2 problems:\n {2}resources\.cpuCount: .*\n {2}resources\.memory: .*4G/);
    expect(error.key).toBe("resources.cpuCount, resources.memory");
  });

  it("unknown settings keys are each named on their own line", () => {
    const error = caught(() => step({ name: "s", resources: { cpus: 2, gpus: 1 } } as never, () => 1));
    expect(error.message.split("\n").slice(1)).toEqual(["  resources.cpus: unknown key", "  resources.gpus: unknown key"]);
  });

  it("a misspelt step option is refused, every one named, not silently ignored", () => {
    const error = caught(() => step({ name: "s", timout: 5, retires: 2 } as never, () => 1));
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message.split("\n").slice(1)).toEqual(["  timout: unknown key", "  retires: unknown key"]);
    const p = pipeline({ name: "p" }, () => void noop.with({ id: "n", cahce: false } as never)());
    expect(caught(() => compile(p, {})).message).toContain("cahce: unknown key");
  });

  it("one issue keeps the one-line form", () => {
    const error = caught(() => step({ name: "s", timeout: -1 }, () => 1));
    expect(error.message).toMatch(/^Invalid settings for step "s": timeout: .+$/);
  });

  it("pipeline schedule: every issue", () => {
    const error = caught(() => pipeline({ name: "p", schedule: { cron: "0 2 * * *", catchup: "yes", timezone: 5 } as never }, () => void noop()));
    expect(error.code).toBe("E_SCHEDULE_INVALID");
    expect(error.message).toContain("catchup:");
    expect(error.message).toContain("timezone:");
  });

  it("pipeline parameters: two bad params are both named", () => {
    const p = pipeline({ name: "params", params: z.object({ trees: z.number(), depth: z.number() }) }, () => void noop());
    const error = caught(() => compile(p, { trees: "many", depth: "deep" } as never));
    expect(error.code).toBe("E_PARAMS_INVALID");
    expect(error.message).toMatch(/\n {2}trees: .*\n {2}depth: /);
    expect(error.key).toBe("trees, depth");
  });

  it("a snapshot read from disk: every issue", () => {
    const error = caught(() => parseSnapshot({ schemaVersion: 2, pipeline: {}, parameters: {}, steps: {}, order: "a" }, "run.json"));
    expect(error.code).toBe("E_SNAPSHOT_INVALID");
    expect(error.message).toContain("schemaVersion:");
    expect(error.message).toContain("order:");
  });

  it("component config: two bad keys are both named", () => {
    const plugin = { flavor: "local-docker", configSchema: z.object({ image: z.string(), network: z.enum(["host", "none"]) }).strict() };
    const error = caught(() => parseComponentConfig(plugin, { image: 3, network: "bridge", extra: true }));
    expect(error.code).toBe("E_CONFIG_INVALID");
    expect(error.key).toBe("image, network, extra");
    expect(error.message.split("\n")).toEqual([
      "[orch] [local_docker] 3 problems:",
      expect.stringMatching(/^ {2}image: /),
      expect.stringMatching(/^ {2}network: /),
      "  extra: unknown key",
    ]);
  });
});
