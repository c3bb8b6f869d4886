/**
 * The repository's quickstart (examples/quickstart: iris → split → random forest → evaluate → promote)
 * compiled to manifests and run end to end through this plugin and the loopback API server. The
 * quickstart does not depend on this plugin, so the orchestrator pod loads it by path (pluginPackage).
 */
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { defineStack } from "@orch/core";
import { readRunRecord } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import { kubernetes } from "./index.js";
import { manifestProblems } from "./validate.js";
import type { K8sObject } from "./manifests.js";
import { createHarness, type Harness } from "../test/harness.js";
import { evaluateModel } from "../../../examples/quickstart/src/steps.js";
import { irisTraining } from "../../../examples/quickstart/src/pipeline.js";

const quickstartRoot = fileURLToPath(new URL("../../../examples/quickstart/", import.meta.url)).replace(/\/$/, "");
const pluginEntry = fileURLToPath(new URL("./index.ts", import.meta.url));

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("the quickstart on kubernetes", () => {
  it("compiles to manifests that validate against the Kubernetes schema", async () => {
    h = await createHarness({ config: { projectRoot: quickstartRoot } });
    const { snapshot } = compilePipeline(irisTraining, {}, { projectRoot: quickstartRoot });
    const scheduled = { ...snapshot, pipeline: { ...snapshot.pipeline, schedule: { cron: "0 2 * * *", catchup: false, allowOverlap: false } } };
    const files = await h.runtime().compile!(scheduled);
    const objects = [
      parse(files["orchestrator-job.yaml"]!),
      parse(files["cronjob.yaml"]!),
      ...parseAllDocuments(files["step-jobs.yaml"]!).map((d) => d.toJSON()),
    ] as K8sObject[];
    expect(objects.map((o) => o.kind)).toEqual(["Job", "CronJob", "Job", "Job", "Job", "Job", "Job"]);
    for (const object of objects) expect(manifestProblems(object)).toEqual([]);
    const train = objects.find((o) => o.metadata.annotations?.["orch.dev/step-id"] === "train_model") as any;
    expect(train.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: "1", memory: "512Mi" }, limits: { cpu: "1", memory: "512Mi" } });
  });

  it("runs end to end: each step's Job produces its artifacts", async () => {
    h = await createHarness({ config: { projectRoot: quickstartRoot, pluginPackage: pluginEntry } });
    const stack = defineStack({ name: "k8s", orchestrator: kubernetes({ ...h.config, pluginPackage: pluginEntry }), artifactStore: { flavor: "local", config: { path: h.storePath } } });
    const result = await irisTraining.run({ stack, projectRoot: quickstartRoot, handleSignals: false });
    expect(result.status).toBe("succeeded");
    expect(result.steps.map((s) => s.stepId).sort()).toEqual(["evaluate_model", "load_data", "promote_model", "split_data", "train_model"]);
    expect(await result.load(evaluateModel)).toBeGreaterThan(0.8);
    expect((await readRunRecord(h.store, result.runId))?.status).toBe("succeeded");
    expect((await readdir(`${h.storePath}/artifacts`)).length).toBeGreaterThanOrEqual(6);
    expect(h.server.created.filter((c) => c.startsWith("jobs/"))).toHaveLength(6);
  });
});
