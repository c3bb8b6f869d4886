import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLocalArtifactStore } from "../store/local-store.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { entrypointCommand, findCoreDirectory } from "./core-entrypoint.js";
import { ORCH_ENV, orchestrateCommand, stepCommand } from "./step-command.js";

describe("stepCommand", () => {
  it("spells orch-entrypoint step with run, step and project root; the store travels only in the environment", () => {
    const store = { describe: () => ({ flavor: "s3", config: { bucket: "b" } }), env: () => ({ AWS_ACCESS_KEY_ID: "AKIA-test" }) };
    const command = stepCommand({ runId: "r1", stepId: "train_2", projectRoot: "/app", store });
    expect(command.command).toEqual(["orch-entrypoint"]);
    expect(command.args).toEqual(["step", "--run-id", "r1", "--step", "train_2", "--project-root", "/app"]);
    expect(command.argv).toEqual([...command.command, ...command.args]);
    expect(command.env).toEqual({
      AWS_ACCESS_KEY_ID: "AKIA-test",
      [ORCH_ENV.artifactStore]: JSON.stringify({ flavor: "s3", config: { bucket: "b" } }),
      [ORCH_ENV.runId]: "r1",
      [ORCH_ENV.stepId]: "train_2",
    });
    expect(command.argv.join(" ")).not.toContain("AKIA");
  });

  it("for a run the backend names (runIdFrom): no --run-id, $ORCH_RUN_ID_FROM names the variable instead", () => {
    const command = stepCommand({ runIdFrom: "AZUREML_ROOT_RUN_ID", stepId: "train", projectRoot: "/app" });
    expect(command.args).toEqual(["step", "--step", "train", "--project-root", "/app"]);
    expect(command.env).toEqual({ [ORCH_ENV.runIdFrom]: "AZUREML_ROOT_RUN_ID", [ORCH_ENV.stepId]: "train" });
  });

  it("runs a given entrypoint command and names a bundled store plugin by path", () => {
    const store = createLocalArtifactStore("/data/artifacts");
    const command = stepCommand({ runId: "r1", stepId: "a", projectRoot: "/p", store, entrypoint: ["node", "/b/orch-entrypoint.js"], storePackage: "/b/store-plugin.js" });
    expect(command.argv.slice(0, 3)).toEqual(["node", "/b/orch-entrypoint.js", "step"]);
    expect(JSON.parse(command.env.ORCH_ARTIFACT_STORE!)).toEqual({ ...store.describe(), package: "/b/store-plugin.js" });
  });

  it("without a store, sets only the run and step (the backend injects the store itself, e.g. from a Secret)", () => {
    expect(stepCommand({ runId: "r", stepId: "s", projectRoot: "/p" }).env).toEqual({ ORCH_RUN_ID: "r", ORCH_STEP_ID: "s" });
  });

  it("names the attempt in ORCH_ATTEMPT when the backend retries the step itself (a template is fine)", () => {
    const command = stepCommand({ runId: "r", stepId: "s", projectRoot: "/p", attempt: "{{ ti.try_number }}" });
    expect(command.env.ORCH_ATTEMPT).toBe("{{ ti.try_number }}");
    expect(command.argv).not.toContain("{{ ti.try_number }}");
  });
});

describe("orchestrateCommand", () => {
  it("spells orch-entrypoint orchestrate with the run, project root and options; configuration stays out of the args", () => {
    const command = orchestrateCommand({ runId: "r1", projectRoot: "/app", stack: "k8s", resume: true, maxParallelism: 4 });
    expect(command.argv).toEqual(["orch-entrypoint", "orchestrate", "--run-id", "r1", "--project-root", "/app", "--stack", "k8s", "--resume", "--max-parallelism", "4"]);
    expect(command.env).toEqual({ [ORCH_ENV.runId]: "r1" });
    expect(orchestrateCommand({ runId: "r", projectRoot: "/p", entrypoint: ["node", "/b/bin.js"] }).argv).toEqual(["node", "/b/bin.js", "orchestrate", "--run-id", "r", "--project-root", "/p"]);
  });
});

describe("entrypointCommand", () => {
  it("runs core's TypeScript source through tsx when core has it, else the built bin", () => {
    const withSource = tempDir();
    mkdirSync(join(withSource, "src", "entrypoint"), { recursive: true });
    writeFileSync(join(withSource, "src", "entrypoint", "bin.ts"), "");
    expect(entrypointCommand(withSource)).toEqual(["node", "--conditions=@orch/source", "--import", "tsx", join(withSource, "src", "entrypoint", "bin.ts")]);
    expect(entrypointCommand(withSource, { source: false })).toEqual(["node", join(withSource, "dist", "entrypoint", "bin.js")]);
    expect(entrypointCommand(tempDir(), { node: "/usr/bin/node" })[0]).toBe("/usr/bin/node");
  });

  it("finds the project's @orch/core, and names the project when it has none", () => {
    const core = findCoreDirectory(join(import.meta.dirname, "..", ".."));
    expect(entrypointCommand(core).at(-1)).toMatch(/entrypoint[/\\]bin\.ts$/);
    const empty = tempDir();
    writeFileSync(join(empty, "package.json"), "{}");
    expect(() => findCoreDirectory(empty, "local-docker")).toThrow(expect.objectContaining({ code: "E_SOURCE_LOAD", message: expect.stringContaining(empty) }));
  });
});
