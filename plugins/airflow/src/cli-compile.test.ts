/**
 * The "orch pipeline compile … --stack airflow --out dags/" with the real `orch` binary in a
 * fresh project that has this plugin installed: the DAG file it writes parses and imports under the
 * Airflow stand-ins, for Airflow 2 and 3 settings.
 */
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quickstartProject, runOrch } from "../test/cli.js";
import { checkDag, pythonMissing } from "../test/python.js";

const project = quickstartProject("airflow-compile-");
const orch = (...args: string[]) => runOrch(project, ...args);
afterAll(() => rmSync(project, { recursive: true, force: true }));

beforeAll(async () => {
  expect((await orch("init")).code).toBe(0);
}, 60_000);

describe.skipIf(pythonMissing)("orch pipeline compile --stack airflow", () => {
  for (const [version, operator] of [
    [3, "kubernetes"],
    [2, "docker"],
  ] as const) {
    it(`writes the quickstart's DAG file for Airflow ${version} (${operator}), which parses and imports`, async () => {
      const name = `af${version}`;
      const register = await orch(
        "orchestrator",
        "register",
        name,
        "--flavor=airflow",
        "--host=http://127.0.0.1:8080",
        `--airflow_version=${version}`,
        "--dags_folder=/opt/airflow/dags",
        `--operator=${operator}`,
        "--image=registry.example/iris:1",
        ...(operator === "kubernetes" ? ["--namespace=ml", `--artifact_store_volume=${JSON.stringify({ claimName: "orch-artifacts", mountPath: "/orch" })}`] : []),
      );
      expect(register.stderr).toBe("");
      expect((await orch("stack", "register", name, "-o", name, "-a", "default")).code).toBe(0);
      const out = `out-${version}`;
      const compiled = await orch("pipeline", "compile", "src/pipeline.ts#irisTraining", "--stack", name, "--out", out);
      expect(compiled.stderr).toBe("");
      expect(compiled.stdout).toContain('Compiled pipeline "iris_training" for airflow');
      expect(readdirSync(join(project, out)).sort()).toEqual(["iris_training.py", "snapshot.json"]);
      const dag = checkDag(readFileSync(join(project, out, "iris_training.py"), "utf8"), version, { runId: "compiled" });
      expect(dag.tasks.map((t) => t.task_id)).toEqual(["load_data", "split_data", "train_model", "evaluate_model", "promote_model"]);
      expect(dag.tasks.every((t) => t.operator === (operator === "kubernetes" ? "KubernetesPodOperator" : "DockerOperator"))).toBe(true);
      if (operator === "kubernetes") expect(dag.tasks[0]!.kwargs.namespace).toBe("ml");
    }, 120_000);
  }
});
