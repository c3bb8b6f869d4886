import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OrchError } from "../errors.js";
import { tempDir } from "../__fixtures__/test-stack.js";
import { ORCH_PLUGIN_API } from "./plugin.js";
import { pluginCandidates, resolvePlugin } from "./resolve-plugin.js";

/** A temp project with packages installed in node_modules, each an ESM module default-exporting `source`. */
function project(packages: Record<string, string>, extra: Record<string, string> = {}): string {
  const root = tempDir("orch-resolve-");
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "user-project", private: true }));
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(root, file), text);
  for (const [name, source] of Object.entries(packages)) {
    const dir = join(root, "node_modules", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", type: "module", exports: "./index.js" }));
    writeFileSync(join(dir, "index.js"), source);
  }
  return root;
}

const pluginSource = (flavor: string, kind = "orchestrator", apiVersion = ORCH_PLUGIN_API) =>
  `export default { kind: "${kind}", apiVersion: ${apiVersion}, flavor: "${flavor}", configSchema: { safeParse: (v) => ({ success: true, data: v }) }, capabilities: {}, create: async () => ({}) };`;

async function resolveError(promise: Promise<unknown>): Promise<OrchError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OrchError);
  return error as OrchError;
}

describe("resolvePlugin", () => {
  it.each([
    ["local", ["@orch/plugin-local", "orch-plugin-local"]],
    ["local_docker", ["@orch/plugin-local-docker", "orch-plugin-local-docker"]],
    ["Local_Docker ", ["@orch/plugin-local-docker", "orch-plugin-local-docker"]],
    ["@acme/gpu", ["@acme/orch-plugin-gpu"]],
    ["@acme", ["@acme/orch-plugin"]],
  ])("tries the naming-convention packages for %j", (flavor, expected) => {
    expect(pluginCandidates(flavor)).toEqual(expected);
  });

  it("loads a third-party orch-plugin-<id> package installed in the project by flavor name", async () => {
    const root = project({ "orch-plugin-subproc": pluginSource("subproc") });
    const plugin = await resolvePlugin("orchestrator", "subproc", { projectRoot: root });
    expect(plugin.flavor).toBe("subproc");
  });

  it("prefers @orch/plugin-<id> over orch-plugin-<id>, and canonicalises local_docker", async () => {
    const root = project({ "@orch/plugin-local-docker": pluginSource("local-docker"), "orch-plugin-local-docker": "throw new Error('should not load')" });
    expect((await resolvePlugin("orchestrator", "local_docker", { projectRoot: root })).flavor).toBe("local-docker");
  });

  it("loads scoped flavors from @scope/orch-plugin-<name>", async () => {
    const root = project({ "@acme/orch-plugin-gpu": pluginSource("gpu"), "@acme/orch-plugin-tpu": pluginSource("gpu") });
    expect((await resolvePlugin("orchestrator", "@acme/gpu", { projectRoot: root })).flavor).toBe("gpu");
    const error = await resolveError(resolvePlugin("orchestrator", "@acme/tpu", { projectRoot: root }));
    expect(error.message).toBe('Package "@acme/orch-plugin-tpu" provides flavor "gpu", not "tpu".');
  });

  it("names every package tried and the install command of a first-party flavor for the project's package manager", async () => {
    const root = project({}, { "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" });
    const error = await resolveError(resolvePlugin("orchestrator", "local_docker", { projectRoot: root }));
    expect(error.code).toBe("E_FLAVOR_NOT_FOUND");
    expect(error.message).toContain("Tried: @orch/plugin-local-docker, orch-plugin-local-docker");
    expect(error.hint).toBe("Install it with: pnpm add @orch/plugin-local-docker");
  });

  it("never hints at installing a package this repository does not publish", async () => {
    const root = project({}, { "pnpm-lock.yaml": "lockfileVersion: '9.0'\n" });
    const error = await resolveError(resolvePlugin("orchestrator", "tekton", { projectRoot: root }));
    expect(error.code).toBe("E_FLAVOR_NOT_FOUND");
    expect(error.message).toContain("Tried: @orch/plugin-tekton, orch-plugin-tekton");
    expect(error.message).toContain("orch publishes no plugin for it; first-party orchestrator flavors: local, local_docker, kubernetes, sagemaker, kubeflow, vertex, azureml, databricks, airflow.");
    expect(error.hint).not.toMatch(/pnpm add|npm install/);
    expect(error.message).not.toContain("Did you mean");
  });

  it("suggests the closest first-party flavor of the asked kind for a typo, and installs that one", async () => {
    const root = project({}, { "package-lock.json": "{}" });
    const error = await resolveError(resolvePlugin("orchestrator", "kubernets", { projectRoot: root }));
    expect(error.message).toContain('Did you mean "kubernetes"?');
    expect(error.hint).toBe("Use --flavor=kubernetes (install it with: npm install @orch/plugin-kubernetes).");
    const store = await resolveError(resolvePlugin("artifact-store", "gcss", { projectRoot: root }));
    expect(store.message).toContain('Did you mean "gcs"?');
    const crossKind = await resolveError(resolvePlugin("orchestrator", "s4", { projectRoot: root }));
    expect(crossKind.message).not.toContain("Did you mean");
  });

  it("never resolves from core's own node_modules", async () => {
    // @orch/plugin-local is installed in the monorepo, but not in this project.
    const root = project({});
    expect((await resolveError(resolvePlugin("orchestrator", "local", { projectRoot: root }))).code).toBe("E_FLAVOR_NOT_FOUND");
  });

  it("reports a plugin that fails to load as broken, not as missing", async () => {
    const root = project({ "orch-plugin-broken": 'import "some-missing-sdk"; export default {};' });
    const error = await resolveError(resolvePlugin("orchestrator", "broken", { projectRoot: root }));
    expect(error.code).toBe("E_PLUGIN_INVALID");
    expect(error.message).toContain("is installed but failed to load");
    expect(error.message).toContain("some-missing-sdk");
  });

  it("refuses an artifact-store plugin where an orchestrator is asked for", async () => {
    const root = project({ "orch-plugin-s3": pluginSource("s3", "artifact-store") });
    const error = await resolveError(resolvePlugin("orchestrator", "s3", { projectRoot: root }));
    expect(error.message).toBe('Package "orch-plugin-s3" provides an artifact-store plugin, but an orchestrator was asked for with flavor "s3".');
  });

  it("refuses a plugin built for another plugin API version", async () => {
    const root = project({ "orch-plugin-old": pluginSource("old", "orchestrator", 0) });
    const error = await resolveError(resolvePlugin("orchestrator", "old", { projectRoot: root }));
    expect(error.code).toBe("E_PLUGIN_API_MISMATCH");
  });

  it("refuses a package that does not default-export a plugin", async () => {
    const root = project({ "orch-plugin-empty": "export const nothing = 1;" });
    expect((await resolveError(resolvePlugin("orchestrator", "empty", { projectRoot: root }))).message).toContain("does not default-export an orch plugin");
  });

  it("uses an explicit package verbatim", async () => {
    const root = project({ "my-private-orchestrator": pluginSource("custom") });
    expect((await resolvePlugin("orchestrator", "custom", { projectRoot: root, package: "my-private-orchestrator" })).flavor).toBe("custom");
  });
});
