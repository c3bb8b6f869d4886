// Issue 19: built-in container registries resolve {{env.NAME}} secrets when a push asks for
// credentials (not at stack activation), say where credentials come from without the value, and each
// flavor has its own config schema.
import { afterEach, describe, expect, it } from "vitest";
import { activateContainerRegistry } from "./stack.js";

afterEach(() => {
  delete process.env.ORCH_TEST_REGISTRY_PASSWORD;
});

describe("built-in container registries", () => {
  it("keeps secret references unresolved until credentials are asked for", async () => {
    const component = await activateContainerRegistry({ flavor: "default", config: { uri: "127.0.0.1:5000/team", username: "ci", password: "{{env.ORCH_TEST_REGISTRY_PASSWORD}}" } }, process.cwd());
    expect(component.config.password).toBe("{{env.ORCH_TEST_REGISTRY_PASSWORD}}");
    const registry = await component.open!();
    expect(registry.uri).toBe("127.0.0.1:5000/team");
    expect(registry.credentialSource).toBe("user ci, password from {{env.ORCH_TEST_REGISTRY_PASSWORD}}");
    await expect(registry.credentials()).rejects.toMatchObject({ code: "E_REGISTRY_AUTH", key: "password", message: expect.stringContaining("ORCH_TEST_REGISTRY_PASSWORD") });
    process.env.ORCH_TEST_REGISTRY_PASSWORD = "s3cret-value";
    const credentials = await registry.credentials();
    expect(credentials).toEqual({ username: "ci", password: "s3cret-value", source: "user ci, password from {{env.ORCH_TEST_REGISTRY_PASSWORD}}" });
  });

  it("resolves references in plain keys (uri) when the stack is activated", async () => {
    process.env.ORCH_TEST_REGISTRY_PASSWORD = "127.0.0.1:5999/from-env";
    const component = await activateContainerRegistry({ flavor: "default", config: { uri: "{{env.ORCH_TEST_REGISTRY_PASSWORD}}" } }, process.cwd());
    expect(component.config.uri).toBe("127.0.0.1:5999/from-env");
  });

  it("is anonymous without a password, and takes the user from the uri for dockerhub and github", async () => {
    const anonymous = await (await activateContainerRegistry({ flavor: "default", config: { uri: "127.0.0.1:5000" } }, process.cwd())).open!();
    expect(await anonymous.credentials()).toBeUndefined();
    expect(anonymous.credentialSource).toMatch(/anonymous/);
    const hub = await (await activateContainerRegistry({ flavor: "dockerhub", config: { uri: "docker.io/acme", password: "tok" } }, process.cwd())).open!();
    expect(await hub.credentials()).toMatchObject({ username: "acme", password: "tok", source: "user acme, password stored in the component config" });
    const ghcr = await (await activateContainerRegistry({ flavor: "github", config: { uri: "ghcr.io/octo-org/ml", password: "ghp_x" } }, process.cwd())).open!();
    expect((await ghcr.credentials())?.username).toBe("octo-org");
  });

  it("refuses unknown keys per flavor and a uri with a scheme", async () => {
    await expect(activateContainerRegistry({ flavor: "github", config: { uri: "ghcr.io/acme", token: "x" } }, process.cwd())).rejects.toMatchObject({ code: "E_CONFIG_INVALID", flavor: "github" });
    const component = await activateContainerRegistry({ flavor: "default", config: { uri: "https://registry.example.com" } }, process.cwd());
    await expect(component.open!()).rejects.toMatchObject({ code: "E_CONFIG_INVALID", key: "uri", hint: expect.stringContaining("uri: registry.example.com") });
  });

  it("looks for a cloud flavor in @orch/registry-<flavor>, not in the artifact store's package", async () => {
    await expect(activateContainerRegistry({ flavor: "azure", config: { uri: "acme.azurecr.io" } }, "/nonexistent-project")).rejects.toMatchObject({
      code: "E_FLAVOR_NOT_FOUND",
      message: expect.stringContaining("@orch/registry-azure, orch-registry-azure"),
    });
  });
});
