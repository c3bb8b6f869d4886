/**
 * The "orch pipeline compile examples/quickstart/… --stack k8s --out DIR" with the real `orch`
 * binary in a fresh project that has this plugin installed (linked into its node_modules, as
 * `npm link` would), and every manifest it writes checked against the Kubernetes schema.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { K8sObject } from "./manifests.js";
import { manifestProblems } from "./validate.js";

const pluginRoot = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = join(pluginRoot, "..", "..");
const orch = join(pluginRoot, "node_modules", ".bin", "orch");
// Inside this package, so the project's own dependencies (@orch/core) resolve from its node_modules.
mkdirSync(join(pluginRoot, ".tmp"), { recursive: true });
const project = mkdtempSync(join(pluginRoot, ".tmp", "cli-compile-"));
mkdirSync(join(project, "node_modules", "@orch"), { recursive: true });
symlinkSync(pluginRoot, join(project, "node_modules", "@orch", "plugin-kubernetes"), "dir");
afterAll(() => rmSync(project, { recursive: true, force: true }));

const run = (...args: string[]) => promisify(execFile)(orch, args, { cwd: project, env: { ...process.env, NO_COLOR: "1" } });

describe("orch pipeline compile --stack k8s", () => {
  it("writes the quickstart's manifests, and every object validates", async () => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "k8s-compile", private: true, type: "module" }));
    await run("init");
    await run("orchestrator", "register", "k8s", "--flavor=kubernetes", "--image=registry.example/iris:1", "--kubernetes_context=fake", "--kubernetes_namespace=ml");
    await run("stack", "register", "k8s", "-o", "k8s", "-a", "default");
    const { stdout } = await run("pipeline", "compile", join(repoRoot, "examples/quickstart/src/pipeline.ts"), "--stack", "k8s", "--out", "out");
    expect(stdout).toContain('Compiled pipeline "iris_training" for kubernetes');
    const out = join(project, "out");
    expect(readdirSync(out).sort()).toEqual(["config-secret.yaml", "orchestrator-job.yaml", "snapshot.json", "step-jobs.yaml"]);
    const objects = ["orchestrator-job.yaml", "step-jobs.yaml", "config-secret.yaml"].flatMap((file) =>
      parseAllDocuments(readFileSync(join(out, file), "utf8")).map((doc) => doc.toJSON() as K8sObject),
    );
    expect(objects.map((o) => o.kind)).toEqual(["Job", "Job", "Job", "Job", "Job", "Job", "Secret"]);
    for (const object of objects) {
      expect(manifestProblems(object)).toEqual([]);
      expect(object.metadata.namespace).toBe("ml");
    }
  });
});
