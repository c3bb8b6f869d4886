import { existsSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIRST_PARTY_FLAVORS, canonicalFlavor, flavorOfPackage, isPackageForFlavor, pluginCandidates, suggestFlavor } from "./flavors.js";

const pluginsDir = fileURLToPath(new URL("../../../plugins", import.meta.url));

describe("the first-party catalogue", () => {
  it("lists exactly the plugin packages this repository publishes", () => {
    const published = readdirSync(pluginsDir)
      .filter((dir) => existsSync(join(pluginsDir, dir, "package.json")))
      .map((dir) => JSON.parse(readFileSync(join(pluginsDir, dir, "package.json"), "utf8")) as { name: string; private?: boolean })
      .filter((pkg) => !pkg.private)
      .map((pkg) => pkg.name)
      .sort();
    expect(FIRST_PARTY_FLAVORS.map((entry) => entry.package).sort()).toEqual(published);
  });

  it("records each flavor's kind as its package declares it", async () => {
    for (const entry of FIRST_PARTY_FLAVORS) {
      // Folder name = package suffix: plugins/local-docker, plugins/registry-aws.
      const folder = entry.package.replace(/^@orch\/(plugin-)?/, "");
      const source = readFileSync(join(pluginsDir, folder, "src", "index.ts"), "utf8");
      expect(source, entry.package).toContain({ orchestrator: "defineOrchestrator", "artifact-store": "defineArtifactStore", "container-registry": "defineContainerRegistry" }[entry.kind]);
    }
  });
});

describe("flavor and package names", () => {
  it("maps package names to flavors and back", () => {
    expect(flavorOfPackage("@orch/plugin-local-docker")).toBe("local-docker");
    expect(flavorOfPackage("orch-plugin-echo")).toBe("echo");
    expect(flavorOfPackage("@acme/orch-plugin-gpu")).toBe("@acme/gpu");
    expect(flavorOfPackage("@orch/core")).toBeUndefined();
    expect(flavorOfPackage("orch-plugin-Bad_Name")).toBeUndefined();
    for (const flavor of ["local_docker", "echo"]) for (const name of pluginCandidates(flavor)) expect(isPackageForFlavor(name, flavor)).toBe(true);
    expect(isPackageForFlavor("@acme/orch-plugin-gpu", "gpu")).toBe(true);
    expect(isPackageForFlavor("@orch/plugin-gcs", "gpu")).toBe(false);
  });

  // Issue 19: `azure` the container registry must never load @orch/plugin-azure, the artifact store.
  it("names container-registry packages with their own prefix, so cloud names never collide with the stores", () => {
    expect(pluginCandidates("azure", "container-registry")).toEqual(["@orch/registry-azure", "orch-registry-azure"]);
    expect(pluginCandidates("azure", "artifact-store")).toEqual(["@orch/plugin-azure", "orch-plugin-azure"]);
    expect(pluginCandidates("azure")).toEqual(["@orch/plugin-azure", "orch-plugin-azure"]);
    expect(pluginCandidates("@acme/quay", "container-registry")).toEqual(["@acme/orch-registry-quay"]);
    expect(flavorOfPackage("@orch/registry-aws", "container-registry")).toBe("aws");
    expect(flavorOfPackage("@orch/registry-aws")).toBeUndefined();
    expect(flavorOfPackage("@orch/plugin-azure", "container-registry")).toBeUndefined();
    expect(isPackageForFlavor("@orch/registry-gcp", "gcp", "container-registry")).toBe(true);
    expect(isPackageForFlavor("@orch/plugin-gcs", "gcs", "container-registry")).toBe(false);
    const registries = FIRST_PARTY_FLAVORS.filter((entry) => entry.kind === "container-registry");
    expect(registries.map((entry) => entry.package).sort()).toEqual(["@orch/registry-aws", "@orch/registry-azure", "@orch/registry-gcp"]);
    expect(FIRST_PARTY_FLAVORS.find((entry) => entry.flavor === "azure" && entry.kind === "artifact-store")?.package).toBe("@orch/plugin-azure");
    expect(suggestFlavor("dockerhb", "container-registry")).toBe("dockerhub");
  });

  it("refuses flavors that are not names (paths, spaces, empty, unicode)", () => {
    for (const bad of ["", "../x", "a b", "kübernetes", "-x", "@/x"]) expect(() => canonicalFlavor(bad), bad).toThrow(/Invalid flavor/);
  });

  it("suggests only first-party flavors of the same kind", () => {
    expect(suggestFlavor("kubernets", "orchestrator")).toBe("kubernetes");
    expect(suggestFlavor("local_dokcer", "orchestrator")).toBe("local-docker");
    expect(suggestFlavor("azur", "artifact-store")).toBe("azure");
    expect(suggestFlavor("azur", "orchestrator")).toBeUndefined();
    expect(suggestFlavor("tekton", "orchestrator")).toBeUndefined();
  });
});
