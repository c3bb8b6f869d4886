// The component config (pod env included) reaches the pods through a Secret owned by the run's
// orchestrator Job, never through args; an API server that does not answer fails the submit with
// E_BACKEND_UNAVAILABLE (core then ends the run as failed instead of leaving it running).
import { createServer } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseComponentConfig } from "@orch/core/plugin";
import { compilePipeline, newRunId } from "@orch/core/host";
import plugin from "./index.js";
import { createOrchestrator } from "./runtime.js";
import { createHarness, projectRoot, until, type Harness } from "../test/harness.js";
import { quickstart } from "../test/fixtures/project/src/pipeline.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("the run's configuration Secret", () => {
  it("holds the config and pod env, is owned by the orchestrator Job and goes away with it", async () => {
    const token = "s3cr3t-api-token";
    h = await createHarness({ config: { podSettings: { env: { API_TOKEN: token } } } });
    const runtime = h.runtime();
    const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
    const runId = newRunId();
    const { run } = await (await runtime.submit(snapshot, { runId, signal: new AbortController().signal })).wait();
    expect(run.status).toBe("succeeded");
    const [orchestratorJob] = h.server.list("jobs", `orch.dev/run-id=${runId},orch.dev/component=orchestrator`);
    const [secret] = h.server.list("secrets");
    expect(secret!.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "Job", name: orchestratorJob!.metadata.name, uid: orchestratorJob!.metadata.uid })]);
    expect(Buffer.from(secret!.data["pod-env.API_TOKEN"], "base64").toString()).toBe(token);
    // Nothing secret in any Job or pod the API server saw, except through the Secret.
    for (const object of [...h.server.list("jobs"), ...h.server.list("pods")]) expect(JSON.stringify(object)).not.toContain(token);
    // The step pods got it all the same (env from the Secret).
    const trainPod = h.server.list("pods", `orch.dev/run-id=${runId},orch.dev/step=train`)[0]!;
    expect(trainPod.spec.containers[0].env).toContainEqual({ name: "API_TOKEN", valueFrom: { secretKeyRef: { name: secret!.metadata.name, key: "pod-env.API_TOKEN" } } });
    // Deleting the run's orchestrator Job garbage-collects the Secret.
    await runtime.stop!(runId); // finished: leaves it alone
    expect(h.server.list("secrets")).toHaveLength(1);
    await fetchDelete(h, `/apis/batch/v1/namespaces/default/jobs/${orchestratorJob!.metadata.name}`);
    expect(h.server.list("secrets")).toEqual([]);
  });

  it("fails the submit with E_BACKEND_UNAVAILABLE when the API server does not answer", async () => {
    h = await createHarness();
    // A port nothing listens on.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const kubeconfig = join(h.dir, "unreachable.yaml");
    await writeFile(kubeconfig, h.server.kubeconfig().replace(h.server.url, `http://127.0.0.1:${port}`));
    const runtime = createOrchestrator(parseComponentConfig(plugin, { ...h.config, kubeconfig }), { projectRoot, stackName: "k8s", artifactStore: h.store });
    const { snapshot } = compilePipeline(quickstart, { rows: 5 }, { projectRoot });
    const error = await runtime.submit(snapshot, { runId: newRunId(), signal: new AbortController().signal }).catch((e) => e);
    expect(error).toMatchObject({ code: "E_BACKEND_UNAVAILABLE" });
    expect(error.message).toMatch(/unreachable/);
    expect(error.hint).toMatch(/kubectl/);
    await runtime.dispose?.();
  });
});

/** DELETE through the API (as kubectl would), so the server's garbage collector runs. */
async function fetchDelete(harness: Harness, path: string) {
  await fetch(`${harness.server.url}${path}`, { method: "DELETE", headers: { authorization: "Bearer fake-token", "content-type": "application/json" }, body: JSON.stringify({ propagationPolicy: "Background" }) });
  await until(() => harness.server.list("secrets").length === 0 || undefined, "the garbage collector", 2_000).catch(() => {});
}
