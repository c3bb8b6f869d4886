import { describe, expect, it } from "vitest";
import { z } from "zod";
import { OrchError } from "../errors.js";
import { pipeline } from "../dsl/pipeline.js";
import { step } from "../dsl/step.js";
import { compile } from "../snapshot/compile.js";
import { ScheduleSchema } from "../settings/index.js";
import { checkCapabilities } from "./capabilities.js";
import { defineOrchestrator } from "../kit/define-orchestrator.js";
import type { OrchestratorCapabilities } from "./plugin.js";

const base: OrchestratorCapabilities = {
  dynamic: false,
  schedules: { cron: true, interval: false, once: false, manage: true },
  retries: "runner",
  resources: "none",
  stop: false,
  logs: false,
  parallel: false,
  requires: { remoteArtifactStore: false, containerRegistry: false },
};
const plugin = (capabilities: Partial<OrchestratorCapabilities> = {}) =>
  defineOrchestrator({
    flavor: "limited",
    configSchema: z.object({}).strict(),
    settingsSchema: z.object({ nodePool: z.string() }).strict(),
    capabilities: { ...base, ...capabilities },
    create: async () => ({ flavor: "limited", submit: async () => ({ runId: "x", wait: async () => { throw new Error("unused"); } }) }),
  });

const plain = step({ name: "plain" }, () => 1);
const heavy = step({ name: "heavy", resources: { memory: "2GB" } }, () => 1);
const tuned = step({ name: "tuned", settings: { limited: { nodePol: "gpu" } } }, () => 1);
const options = { artifactStoreRemote: false, hasContainerRegistry: false };

function refusal(fn: () => void): OrchError {
  try {
    fn();
  } catch (error) {
    return error as OrchError;
  }
  throw new Error("expected a refusal");
}

describe("checkCapabilities", () => {
  it("refuses a dynamic pipeline on a flavor without dynamic support", () => {
    const snapshot = compile(pipeline({ name: "dyn", dynamic: true }, async () => void plain()));
    const error = refusal(() => checkCapabilities(plugin(), snapshot, options));
    expect(error.code).toBe("E_CAPABILITY_UNSUPPORTED");
    expect(error.message).toContain("cannot run dynamic pipelines");
  });

  it("refuses a schedule kind the flavor cannot run, accepts one it can", () => {
    const snapshot = compile(pipeline({ name: "sched" }, () => void plain()));
    expect(refusal(() => checkCapabilities(plugin(), snapshot, { ...options, schedule: ScheduleSchema.parse({ intervalSeconds: 60 }) })).message).toBe(
      "The limited orchestrator cannot run interval schedules.",
    );
    expect(() => checkCapabilities(plugin(), snapshot, { ...options, schedule: ScheduleSchema.parse({ cron: "0 2 * * *" }) })).not.toThrow();
  });

  it("refuses resources a flavor cannot honour unless strict is off, then warns", () => {
    const snapshot = compile(pipeline({ name: "res" }, () => void heavy()));
    expect(refusal(() => checkCapabilities(plugin(), snapshot, options)).message).toBe('Step "heavy" sets resources, which the limited orchestrator cannot honour.');
    const warnings: string[] = [];
    checkCapabilities(plugin(), snapshot, { ...options, strict: false, warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });

  it("refuses a flavor that needs a remote artifact store or a registry the stack lacks", () => {
    const snapshot = compile(pipeline({ name: "req" }, () => void plain()));
    expect(refusal(() => checkCapabilities(plugin({ requires: { remoteArtifactStore: true, containerRegistry: false } }), snapshot, options)).message).toContain("needs a remote artifact store");
    expect(refusal(() => checkCapabilities(plugin({ requires: { remoteArtifactStore: false, containerRegistry: true } }), snapshot, options)).hint).toContain("orch container-registry register");
  });

  it("validates step settings for the flavor with its settings schema, naming the step and key", () => {
    const snapshot = compile(pipeline({ name: "set" }, () => void tuned()));
    const error = refusal(() => checkCapabilities(plugin(), snapshot, options));
    expect(error.code).toBe("E_SETTINGS_INVALID");
    expect(error.message).toContain('step "tuned" (settings.limited)');
  });
});
