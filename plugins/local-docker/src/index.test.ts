import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, defineStack, localArtifactStore, pipeline, step } from "@orch/core";
import { createLocalArtifactStore, parseComponentConfig } from "@orch/core/plugin";
import { resolvePlugin } from "@orch/core/host";
import plugin, { FLAVOR, localDocker } from "./index.js";
import { ORCH_LABELS } from "@orch/core/plugin";
import { containerSpec } from "./container.js";
import type { PreparedImage } from "./image.js";

const prepared: PreparedImage = { image: "img:1", projectRoot: "/p", command: ["node", "bin.js"], mounts: ["/p", "/ws/node_modules"], built: false };

const gpuStep = step({ name: "gpu_step", resources: { gpuCount: 2, memory: "1.5GiB", cpuCount: 1.5 }, settings: { local_docker: { shmSize: "1GB", env: { STEP: "yes" } } } }, () => 1);
const gpuPipeline = pipeline({ name: "gpu_pipeline" }, () => {
  gpuStep();
});

describe("local_docker plugin descriptor", () => {
  it("is the local-docker flavor, which users may write local_docker", async () => {
    expect(FLAVOR).toBe("local-docker");
    expect(plugin.flavor).toBe("local-docker");
    expect(localDocker({ mountSource: true })).toMatchObject({ flavor: "local-docker", config: { mountSource: true } });
    const resolved = await resolvePlugin("orchestrator", "local_docker", { projectRoot: join(import.meta.dirname, "..") });
    expect(resolved.flavor).toBe("local-docker");
  });

  it("fills defaults and rejects unknown keys, bad memory sizes and networks other than host/none", () => {
    const config = parseComponentConfig(plugin, {});
    expect(config).toMatchObject({ baseImage: "node:20-bookworm-slim", mountSource: false, network: "host", maxParallelism: 4, removeContainers: true });
    expect(() => parseComponentConfig(plugin, { networks: "host" })).toThrow(/networks/);
    expect(() => parseComponentConfig(plugin, { shmSize: "1 gigabyte" })).toThrow(/shmSize/);
    expect(() => parseComponentConfig(plugin, { network: "bridge" })).toThrow(/network/);
  });

  it("refuses to run, naming the engine address, when no Docker engine answers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orch-ld-noengine-"));
    try {
      const stack = defineStack({ name: "nowhere", orchestrator: localDocker({ host: "unix:///nonexistent/docker.sock" }), artifactStore: localArtifactStore({ path: dir }) });
      await expect(gpuPipeline.run({ stack, projectRoot: import.meta.dirname, handleSignals: false })).rejects.toMatchObject({
        code: "E_BACKEND_UNAVAILABLE",
        message: expect.stringContaining("The Docker engine at unix:///nonexistent/docker.sock is not reachable"),
        hint: expect.stringContaining("Start Docker"),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a prebuilt image combined with build settings", () => {
    expect(() => parseComponentConfig(plugin, { image: "me/app:1", mountSource: true })).toThrow(/prebuilt `image` cannot be combined/);
    expect(parseComponentConfig(plugin, { image: "me/app:1", projectRootInImage: "/app" })).toMatchObject({ image: "me/app:1" });
  });
});

describe("containerSpec", () => {
  const dir = mkdtempSync(join(tmpdir(), "orch-ld-spec-"));
  const store = createLocalArtifactStore(join(dir, "artifacts"));
  const snapshot = compile(gpuPipeline, {}, { projectRoot: import.meta.dirname });

  it("maps resources through core's conversions: memory (hard, no swap), CPU quota, GPU requests, shm size", () => {
    const config = parseComponentConfig(plugin, { env: { A: "1" }, volumes: ["/data:/data:ro"], network: "none" });
    const spec = containerSpec({ config, prepared, runId: "r1", step: snapshot.steps.gpu_step!, pipeline: "gpu_pipeline", store, user: "1000:1000", tsxCache: "/cache" });
    expect(spec.HostConfig).toMatchObject({
      Memory: 1.5 * 2 ** 30,
      MemorySwap: 1.5 * 2 ** 30,
      NanoCpus: 1_500_000_000,
      ShmSize: 1_000_000_000,
      NetworkMode: "none",
      DeviceRequests: [{ Count: 2, Capabilities: [["gpu"]] }],
    });
    expect(spec.HostConfig!.Binds).toEqual(["/p:/p:ro", "/ws/node_modules:/ws/node_modules:ro", `${store.uri}:${store.uri}:rw`, "/cache:/tmp/tsx-1000:rw", "/data:/data:ro"]);
    expect(spec.Labels).toEqual({
      [ORCH_LABELS.managedBy]: "orch",
      [ORCH_LABELS.runId]: "r1",
      [ORCH_LABELS.stepId]: "gpu_step",
      [ORCH_LABELS.pipeline]: "gpu_pipeline",
      [ORCH_LABELS.flavor]: "local-docker",
      [ORCH_LABELS.component]: "step",
    });
    expect(spec.User).toBe("1000:1000");
    expect(spec.WorkingDir).toBe("/p");
    expect(spec.Env).toEqual(expect.arrayContaining(["A=1", "STEP=yes", "ORCH_RUN_ID=r1", "ORCH_STEP_ID=gpu_step", `ORCH_ARTIFACT_STORE=${JSON.stringify(store.describe())}`]));
    // The store travels in the environment only (the plugin kit's stepCommand).
    expect(spec.Cmd).toEqual(["node", "bin.js", "step", "--run-id", "r1", "--step", "gpu_step", "--project-root", "/p"]);
  });

  // Issue 12: a remote store's credentials reach the container as env, never in its command line.
  it("passes a remote store's credentials as env and keeps them out of the command", () => {
    const config = parseComponentConfig(plugin, {});
    const remote = {
      ...store,
      flavor: "s3",
      describe: () => ({ flavor: "s3", config: { path: "s3://bucket/orch" } }),
      env: () => ({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "very-secret" }),
    };
    const spec = containerSpec({ config, prepared, runId: "r1", step: snapshot.steps.gpu_step!, pipeline: "gpu_pipeline", store: remote, user: "0:0" });
    expect(spec.Env).toEqual(expect.arrayContaining(["AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=very-secret", `ORCH_ARTIFACT_STORE=${JSON.stringify(remote.describe())}`]));
    expect(JSON.stringify(spec.Cmd)).not.toMatch(/AKIAEXAMPLE|very-secret/);
    expect(spec.HostConfig!.Binds).not.toContain(`${store.uri}:${store.uri}:rw`);
  });

  it("requests every GPU with gpus: all", () => {
    const config = parseComponentConfig(plugin, { gpus: "all" });
    const noResources = { ...snapshot.steps.gpu_step!, settings: { ...snapshot.steps.gpu_step!.settings, resources: {}, flavors: {} } };
    const spec = containerSpec({ config, prepared, runId: "r1", step: noResources, pipeline: "p", store, user: "0:0" });
    expect(spec.HostConfig!.DeviceRequests).toEqual([expect.objectContaining({ Count: -1 })]);
    expect(spec.HostConfig!.Memory).toBeUndefined();
  });
});
