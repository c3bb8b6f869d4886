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
      const source = readFileSync(join(pluginsDir, entry.flavor, "src", "index.ts"), "utf8");
      expect(source, entry.package).toContain(entry.kind === "orchestrator" ? "defineOrchestrator" : "defineArtifactStore");
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
