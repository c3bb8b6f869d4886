import { describe, expect, it } from "vitest";
import { OrchError } from "../errors.js";
import type { PluginContext } from "../plugins/plugin.js";
import { buildStackImage } from "./project-image.js";

const context = (containerRegistry?: PluginContext["containerRegistry"]) => ({ projectRoot: "/nowhere", containerRegistry }) as unknown as PluginContext;

describe("buildStackImage", () => {
  it("refuses a stack without a container registry before building anything, naming the flavor, the key and who pulls", async () => {
    for (const registry of [undefined, { flavor: "default", config: {} }]) {
      const error = (await buildStackImage({ flavor: "sagemaker", key: "image", puller: "SageMaker", baseImage: "node:20", context: context(registry), loadDocker: () => Promise.reject(new Error("not loaded before the registry check")) }).catch((e: unknown) => e)) as OrchError;
      expect(error).toBeInstanceOf(OrchError);
      expect(error).toMatchObject({ code: "E_CONFIG_INVALID", flavor: "sagemaker", key: "image" });
      expect(error.message).toContain("SageMaker cannot pull an image that only exists on this machine");
      expect(error.hint).toContain("orch stack update");
    }
  });

  it("says @orch/docker is missing when the plugin cannot load it, naming the flavor and key", async () => {
    const missing = Object.assign(new Error("Cannot find package '@orch/docker'"), { code: "ERR_MODULE_NOT_FOUND" });
    const error = (await buildStackImage({ flavor: "azureml", key: "build", puller: "Azure ML compute", baseImage: "node:20", context: context({ flavor: "default", config: { uri: "127.0.0.1:5000/x" } }), loadDocker: () => Promise.reject(missing) }).catch((e: unknown) => e)) as OrchError;
    expect(error).toMatchObject({ code: "E_CONFIG_INVALID", flavor: "azureml", key: "build" });
    expect(error.message).toContain("needs the @orch/docker package, which is not installed");
    expect(error.hint).toContain("npm install @orch/docker");
  });
});
