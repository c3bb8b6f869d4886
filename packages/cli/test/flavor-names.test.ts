// Flavor names through the real CLI: "did you mean" and install hints only ever name packages this
// repository publishes, and the first-party catalogue (orch integration list) is what exists.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, type TempProject } from "./harness.js";

let project: TempProject;

beforeAll(async () => {
  project = createProject("flavor-names", { packageManager: "npm@10.9.0" });
  expect((await project.orch(["init"])).code).toBe(0);
});
afterAll(() => project?.remove());

/** The `hint:` line of an error on stderr. */
const hintOf = (stderr: string) => stderr.split("\n").find((line) => line.startsWith("hint:")) ?? "";

describe("flavor names and the first-party catalogue", () => {
  it("a flavor orch does not publish (tekton) gets no install hint for a package that does not exist", async () => {
    const result = await project.orch(["orchestrator", "register", "x", "--flavor=tekton"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No orchestrator plugin found for flavor "tekton"');
    expect(result.stderr).toContain("first-party orchestrator flavors: local, local_docker, kubernetes, sagemaker, kubeflow, vertex, azureml, databricks, airflow.");
    expect(hintOf(result.stderr)).not.toMatch(/npm install|pnpm add|yarn add/);
    expect(result.stderr).not.toContain("Did you mean");
  });

  it("a typo of an existing flavor suggests it and the package that provides it", async () => {
    const result = await project.orch(["orchestrator", "register", "x", "--flavor=kubernets"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Did you mean "kubernetes"?');
    expect(hintOf(result.stderr)).toContain("npm install @orch/plugin-kubernetes");
    const store = await project.orch(["artifact-store", "register", "x", "--flavor=s4"]);
    expect(store.stderr).toContain('Did you mean "s3"?');
  });

  it("orch integration list names every published plugin, the artifact stores included, and nothing else", async () => {
    const rows = await project.json<{ flavor: string; package: string; kind: string; source: string }[]>(["integration", "list", "--json"]);
    const firstParty = rows.filter((row) => row.source === "first-party").map((row) => `${row.flavor}:${row.kind}:${row.package}`);
    expect(firstParty.sort()).toEqual(
      [
        "airflow:orchestrator:@orch/plugin-airflow",
        "azure:artifact-store:@orch/plugin-azure",
        "azureml:orchestrator:@orch/plugin-azureml",
        "databricks:orchestrator:@orch/plugin-databricks",
        "gcs:artifact-store:@orch/plugin-gcs",
        "kubeflow:orchestrator:@orch/plugin-kubeflow",
        "kubernetes:orchestrator:@orch/plugin-kubernetes",
        "sagemaker:orchestrator:@orch/plugin-sagemaker",
        "vertex:orchestrator:@orch/plugin-vertex",
        "local:orchestrator:@orch/plugin-local",
        "local_docker:orchestrator:@orch/plugin-local-docker",
        "s3:artifact-store:@orch/plugin-s3",
        "aws:container-registry:@orch/registry-aws",
        "gcp:container-registry:@orch/registry-gcp",
        "azure:container-registry:@orch/registry-azure",
      ].sort(),
    );
    const stores = await project.json<{ flavor: string }[]>(["artifact-store", "flavor", "list", "--json"]);
    expect(stores.map((row) => row.flavor)).toEqual(expect.arrayContaining(["local", "s3", "gcs", "azure"]));
    const orchestrators = await project.json<{ flavor: string }[]>(["orchestrator", "flavor", "list", "--json"]);
    expect(orchestrators.map((row) => row.flavor)).not.toContain("s3");
    expect(orchestrators.map((row) => row.flavor)).not.toContain("tekton");
  });

  it("orch integration install refuses a flavor this repository publishes no package for", async () => {
    const refused = await project.orch(["integration", "install", "tekton", "--dry-run"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('orch publishes no plugin for flavor "tekton"');
    expect(refused.stderr).not.toContain("$ npm install");
    const storeByFlavor = await project.orch(["integration", "install", "s3", "--dry-run"]);
    expect(storeByFlavor.code, storeByFlavor.stderr).toBe(0);
    expect(storeByFlavor.stderr).toContain("$ npm install --no-audit --no-fund @orch/plugin-s3");
    const third = await project.orch(["integration", "install", "orch-plugin-tekton", "--dry-run"]);
    expect(third.code, third.stderr).toBe(0);
  });
});
