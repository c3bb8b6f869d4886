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

async function clients(options = {}) {
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
});
