// Issue 19: each container-registry flavor has its own config keys; the cloud flavors are packages
// named @orch/registry-<flavor> (never the artifact store's @orch/plugin-<flavor>).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type TempProject } from "./harness.js";

let project: TempProject;
beforeAll(async () => {
  project = createProject("registries");
  const init = await project.orch(["init"]);
  expect(init.code, init.stderr).toBe(0);
});
afterAll(() => project?.remove());

describe("orch container-registry", () => {
  it("lists the built-in flavors and the first-party registry packages", async () => {
    const rows = await project.json<{ flavor: string; package?: string; source: string }[]>(["container-registry", "flavor", "list", "--json"]);
    expect(rows.filter((r) => r.source === "built-in").map((r) => r.flavor)).toEqual(["default", "dockerhub", "github"]);
    expect(rows.filter((r) => r.source === "first-party").map((r) => [r.flavor, r.package])).toEqual([
      ["aws", "@orch/registry-aws"],
      ["azure", "@orch/registry-azure"],
      ["gcp", "@orch/registry-gcp"],
    ]);
  });

  it("validates each flavor's own keys, and keeps {{env}} references unresolved in the index", async () => {
    const bad = await project.orch(["container-registry", "register", "hub", "--flavor=dockerhub", "--uri=docker.io/acme", "--token=x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/token/);
    const ok = await project.orch(["container-registry", "register", "hub", "--flavor=dockerhub", "--uri=docker.io/acme", "--password={{env.HUB_TOKEN}}"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await project.json(["container-registry", "describe", "hub", "--json"])).toMatchObject({ flavor: "dockerhub", config: { uri: "docker.io/acme", password: "{{env.HUB_TOKEN}}" } });
  });

  it("asks for @orch/registry-azure, not the azure artifact store, when the azure registry is not installed", async () => {
    const result = await project.orch(["container-registry", "register", "acr", "--flavor=azure", "--uri=acme.azurecr.io"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("@orch/registry-azure");
    expect(result.stderr).not.toContain("@orch/plugin-azure");
  });
});
