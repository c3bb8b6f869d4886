import { describe, expect, it } from "vitest";
import { compilePipeline } from "@orch/core/host";
import { parseComponentConfig } from "@orch/core/plugin";
import plugin from "./index.js";
import { renderDagFile } from "./dag-file.js";
import { checkDag, pythonMissing } from "../test/python.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";

const quickstartRoot = new URL("../../../examples/quickstart/", import.meta.url).pathname.replace(/\/$/, "");
const s3Store = { describe: () => ({ flavor: "s3", config: { path: "s3://bucket/orch", endpoint: "http://127.0.0.1:9000", forcePathStyle: true } }), envNames: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] };
const config = (extra: Record<string, unknown> = {}) =>
  parseComponentConfig(plugin, { host: "http://127.0.0.1:8080", dagsFolder: "/tmp/dags", image: "registry.example/iris:1", credentialsSecret: "orch-store", credentialsEnvFile: "/etc/orch/store.env", ...extra }) as any;

describe.skipIf(pythonMissing)("the quickstart's DAG file", () => {
  for (const version of [2, 3] as const) {
    for (const operator of ["kubernetes", "docker"] as const) {
      it(`imports under Airflow ${version} with ${operator} operators`, () => {
        const { snapshot } = compilePipeline(irisTraining, {}, { projectRoot: quickstartRoot });
        const file = renderDagFile(config({ airflowVersion: version, operator }), snapshot, s3Store);
        const dag = checkDag(file.source, version, { runId: "run-1" });
        console.log(file.source);
        console.log(JSON.stringify(dag, null, 1).slice(0, 3000));
        expect(dag.tasks.map((t) => t.task_id)).toEqual(snapshot.order);
      });
    }
  }
});
