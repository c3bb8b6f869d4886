// The test API server must behave like a real one where the plugin depends on it; these pin that down
// through the real client.
import * as k8s from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver.js";

let server: FakeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clients(options: Parameters<typeof startFakeApiServer>[0] = {}) {
  server = await startFakeApiServer(options);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return { batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api) };
}

const job = (name: string, command = ["true"]) => ({
  metadata: { name, labels: { app: "t" } },
  spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "local", command }] } } },
});

describe("fake API server", () => {
  it("answers 422 with field causes, 409 on conflicts and 404 for missing objects", async () => {
    const { batch } = await clients();
    const invalid = await batch.createNamespacedJob({ namespace: "default", body: job("Bad_Name") }).catch((e) => e);
    expect(invalid.code).toBe(422);
    expect(JSON.parse(invalid.body).details.causes[0]).toMatchObject({ field: "metadata.name", reason: "FieldValueInvalid" });
    await batch.createNamespacedJob({ namespace: "default", body: job("a") });
    expect((await batch.createNamespacedJob({ namespace: "default", body: job("a") }).catch((e) => e)).code).toBe(409);
    expect((await batch.readNamespacedJob({ name: "nope", namespace: "default" }).catch((e) => e)).code).toBe(404);
  });

  it("refuses pods with 403 until the namespace's service account exists", async () => {
    const { core } = await clients({ serviceAccounts: [] });
    const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "local", command: ["true"] }] } };
    const refused = await core.createNamespacedPod({ namespace: "default", body: pod }).catch((e) => e);
    expect(refused.code).toBe(403);
    expect(JSON.parse(refused.body).message).toContain('serviceaccount "default" not found');
    expect((await core.readNamespacedServiceAccount({ name: "default", namespace: "default" }).catch((e) => e)).code).toBe(404);
    server!.addServiceAccount("default");
    await core.createNamespacedPod({ namespace: "default", body: pod });
  });

  it("runs a Job's command as a process and deletes by label with DeleteOptions from the body", async () => {
    const { batch } = await clients();
    await batch.createNamespacedJob({ namespace: "default", body: job("ok", [process.execPath, "-e", "console.log('hi')"]) });
    await batch.createNamespacedJob({ namespace: "default", body: job("bad", [process.execPath, "-e", "process.exit(3)"]) });
    const finished = async (name: string) => (await batch.readNamespacedJob({ name, namespace: "default" })).status?.conditions?.find((c) => c.status === "True" && (c.type === "Complete" || c.type === "Failed"))?.type;
    for (let i = 0; i < 100 && (!(await finished("ok")) || !(await finished("bad"))); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await finished("ok")).toBe("Complete");
    expect(await finished("bad")).toBe("Failed");
    await batch.deleteCollectionNamespacedJob({ namespace: "default", labelSelector: "app=t", body: { propagationPolicy: "Foreground" } });
    expect(server!.requests.find((r) => r.method === "DELETE")?.body).toEqual({ propagationPolicy: "Foreground" });
    expect((await batch.listNamespacedJob({ namespace: "default" })).items).toEqual([]);
  });

  const node = (code: string) => [process.execPath, "-e", code];
  const until = async <T>(check: () => T | Promise<T>, what: string): Promise<NonNullable<T>> => {
    for (let i = 0; i < 300; i++) {
      const value = await check();
      if (value) return value as NonNullable<T>;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const podsOf = (name: string) => server!.list("pods", `job-name=${name}`);

  it("deletes a running pod gracefully: deletionTimestamp, SIGTERM to its process, removal once it has exited", async () => {
    const { batch, core } = await clients();
    await batch.createNamespacedJob({ namespace: "default", body: job("graceful", node("process.on('SIGTERM', () => { console.log('got SIGTERM'); setTimeout(() => process.exit(0), 300); }); console.log('ready'); setInterval(() => {}, 1000);")) });
    const pod = await until(() => podsOf("graceful").find((p) => p.status.phase === "Running"), "a running pod");
    await until(async () => String(await core.readNamespacedPodLog({ name: pod.metadata.name, namespace: "default" })).includes("ready"), "the process to handle SIGTERM");
    await core.deleteNamespacedPod({ name: pod.metadata.name, namespace: "default" });
    const terminating = await core.readNamespacedPod({ name: pod.metadata.name, namespace: "default" });
    expect(terminating.metadata?.deletionTimestamp).toBeTruthy();
    expect(terminating.metadata?.deletionGracePeriodSeconds).toBe(30);
    await until(async () => (await core.readNamespacedPod({ name: pod.metadata.name, namespace: "default" }).catch((e) => e)).code === 404, "the pod to be removed");
    expect(server!.terminated.find((t) => t.pod === pod.metadata.name)).toMatchObject({ exitCode: 0 }); // it shut down by itself, within the grace period
  });

  it("applies podFailurePolicy onPodConditions: an evicted pod (DisruptionTarget) is replaced without counting", async () => {
    const { batch, core } = await clients();
    const body = job("evicted", node("setInterval(() => {}, 1000)"));
    (body.spec as any).podFailurePolicy = { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] };
    await batch.createNamespacedJob({ namespace: "default", body });
    const first = await until(() => podsOf("evicted").find((p) => p.status.phase === "Running"), "a running pod");
    await core.createNamespacedPodEviction({ name: first.metadata.name, namespace: "default", body: { metadata: { name: first.metadata.name } } });
    const second = await until(() => podsOf("evicted").find((p) => p.metadata.name !== first.metadata.name), "a replacement pod");
    expect(second).toBeTruthy();
    const status = (await batch.readNamespacedJob({ name: "evicted", namespace: "default" })).status;
    expect(status?.failed ?? 0).toBe(0); // backoffLimit 0, yet not failed: the eviction did not count
    expect(status?.conditions ?? []).toEqual([]);
  });

  it("backs off before replacing a failed pod: 10 s, then 20 s … (scaled by timeScale)", async () => {
    const { batch } = await clients({ timeScale: 0.02 });
    const body = job("backoff", node("process.exit(3)"));
    (body.spec as any).backoffLimit = 2;
    await batch.createNamespacedJob({ namespace: "default", body });
    await until(async () => (await batch.readNamespacedJob({ name: "backoff", namespace: "default" })).status?.conditions?.some((c) => c.type === "Failed"), "the Job to fail");
    const created = podsOf("backoff").map((p) => server!.createdAtMs.get(`pods/${p.metadata.name}`)!).sort((a, b) => a - b);
    const ended = server!.terminated.map((t) => t.pod);
    expect(created).toHaveLength(3);
    expect(ended).toHaveLength(3);
    // Lower bounds only: each replacement waited at least its back-off (200 ms, then 400 ms here).
    expect(created[1]! - created[0]!).toBeGreaterThanOrEqual(200);
    expect(created[2]! - created[1]!).toBeGreaterThanOrEqual(400);
  });

  it("keeps a pod Pending (Unschedulable) while no node matches its nodeSelector or its claim is not bound", async () => {
    const { core } = await clients();
    const pod = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec: { containers: [{ name: "c", image: "local", command: node("setTimeout(() => {}, 100)") }], ...spec } });
    await core.createNamespacedPod({ namespace: "default", body: pod("gpu", { nodeSelector: { accelerator: "a100" } }) });
    const pending = await core.readNamespacedPod({ name: "gpu", namespace: "default" });
    expect(pending.status?.phase).toBe("Pending");
    expect(pending.status?.conditions?.[0]).toMatchObject({ type: "PodScheduled", status: "False", reason: "Unschedulable" });
    expect(pending.status?.conditions?.[0]?.message).toContain("didn't match Pod's node affinity/selector");
    server!.addNode({ name: "gpu-node", labels: { accelerator: "a100" } });
    await until(() => server!.terminated.find((t) => t.pod === "gpu"), "the pod to run once a node matches");

    await core.createNamespacedPod({ namespace: "default", body: pod("claims", { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }] }) });
    expect((await core.readNamespacedPod({ name: "claims", namespace: "default" })).status?.conditions?.[0]?.message).toContain('persistentvolumeclaim "data" not found');
    server!.addPersistentVolumeClaim("default", "data", "Pending");
    expect((await core.readNamespacedPod({ name: "claims", namespace: "default" })).status?.phase).toBe("Pending");
    expect((await core.readNamespacedPod({ name: "claims", namespace: "default" })).status?.conditions?.[0]?.message).toContain("unbound immediate PersistentVolumeClaims");
    server!.bindClaim("default", "data");
    await until(() => server!.terminated.find((t) => t.pod === "claims"), "the pod to run once its claim is bound");
  });

  it("gives pods in-cluster credentials (token file, KUBERNETES_SERVICE_HOST/PORT over HTTPS), and refuses requests without a token", async () => {
    const { core } = await clients({ inCluster: true });
    const probe = [
      "const fs = require('fs');",
      "const root = process.env.ORCH_KUBERNETES_SERVICE_ACCOUNT_PREFIX + '/var/run/secrets/kubernetes.io/serviceaccount';",
      "const token = fs.readFileSync(root + '/token', 'utf8');",
      "const ca = fs.readFileSync(root + '/ca.crt');",
      "require('https').get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: '/api/v1/namespaces/' + fs.readFileSync(root + '/namespace', 'utf8') + '/pods', ca, headers: { authorization: 'Bearer ' + token } }, (res) => { console.log('status ' + res.statusCode + ' kubeconfig ' + (process.env.KUBECONFIG ?? 'none')); process.exit(0); });",
    ].join("\n");
    await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "probe" }, spec: { containers: [{ name: "c", image: "local", command: node(probe) }] } } });
    await until(() => server!.terminated.find((t) => t.pod === "probe"), "the probe pod to end");
    expect(await core.readNamespacedPodLog({ name: "probe", namespace: "default" })).toContain("status 200 kubeconfig none");
    expect(server!.requests.some((r) => r.token?.startsWith("sa-default-"))).toBe(true);
    const anonymous = await fetch(`${server!.url}/api/v1/namespaces/default/pods`);
    expect(anonymous.status).toBe(401);
  });
});
