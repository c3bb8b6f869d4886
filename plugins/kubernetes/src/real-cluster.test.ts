/**
 * Against a real cluster, when ORCH_TEST_KUBECONFIG is set (optionally ORCH_TEST_NAMESPACE, default "default").
 * The API server itself validates every generated object (server-side dry run, nothing is started), and a
 * CronJob schedule is created, listed and deleted for real.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createLocalArtifactStore, parseComponentConfig } from "@orch/core/plugin";
import { compilePipeline } from "@orch/core/host";
import plugin from "./index.js";
import { configSecret, orchestratorJob, runSecretName, stepJob } from "./manifests.js";
import { loadKubeConfig } from "./client.js";
import { createOrchestrator } from "./runtime.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

const kubeconfig = process.env.ORCH_TEST_KUBECONFIG;
if (!kubeconfig) console.warn("[@orch/plugin-kubernetes] skipping the real-cluster tests: ORCH_TEST_KUBECONFIG is not set");
const projectRoot = new URL("../test/fixtures/project/", import.meta.url).pathname;

describe.skipIf(!kubeconfig)("kubernetes orchestrator on a real cluster (ORCH_TEST_KUBECONFIG)", () => {
  const config = () =>
    parseComponentConfig(plugin, { kubeconfig, kubernetesNamespace: process.env.ORCH_TEST_NAMESPACE ?? "default", image: process.env.ORCH_TEST_IMAGE ?? "busybox:1.36" });

  it("the API server accepts every generated Job and the run's config Secret (server-side dry run)", async () => {
    const cfg = config();
    const batch = loadKubeConfig(cfg).makeApiClient(k8s.BatchV1Api);
    const core = loadKubeConfig(cfg).makeApiClient(k8s.CoreV1Api);
    const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
    const input = { config: cfg, snapshot, podStore: { flavor: "local", config: { path: "/orch" } } };
    const jobs = [orchestratorJob(input, "dry-run"), ...snapshot.order.map((id) => stepJob(input, "dry-run", snapshot.steps[id]!))];
    for (const job of jobs) await batch.createNamespacedJob({ namespace: cfg.kubernetesNamespace, body: job as unknown as k8s.V1Job, dryRun: "All" });
    const secret = configSecret(input, runSecretName(cfg.jobNamePrefix, "dry-run"));
    await core.createNamespacedSecret({ namespace: cfg.kubernetesNamespace, body: secret as unknown as k8s.V1Secret, dryRun: "All" });
  });

  it("creates, lists and deletes a CronJob schedule", async () => {
    const dir = await mkdtemp(join(tmpdir(), "orch-k8s-real-"));
    const runtime = createOrchestrator(config(), { projectRoot, stackName: "real", artifactStore: createLocalArtifactStore(dir) });
    try {
      const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
      const { id } = await runtime.schedule!(snapshot, { cron: "0 3 1 1 *", timezone: "UTC", catchup: false, allowOverlap: false });
      expect((await runtime.listSchedules!()).map((s) => s.id)).toContain(id);
      await runtime.deleteSchedule!(id);
      expect((await runtime.listSchedules!()).map((s) => s.id)).not.toContain(id);
    } finally {
      await runtime.dispose?.();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
