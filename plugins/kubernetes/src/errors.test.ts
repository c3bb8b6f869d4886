// Which code an API failure becomes decides the CLI's exit code (1: the cluster, try again; 2: your
// configuration) — the real binary is driven in cli-errors.test.ts; these are the cases around it.
import { ApiException } from "@kubernetes/client-node";
import { parseComponentConfig } from "@orch/core/plugin";
import { describe, expect, it } from "vitest";
import { kubernetesError } from "./errors.js";
import plugin from "./index.js";

const config = parseComponentConfig(plugin, { kubernetesNamespace: "ml", kubernetesContext: "prod" });
const status = (code: number, message: string) => new ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: "Status", code, message }), {});
const network = (code: string) => Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(`connect ${code} 10.0.0.1:6443`), { code }) });

describe("kubernetesError", () => {
  it.each([
    ["connection refused", network("ECONNREFUSED"), /unreachable: fetch failed/],
    ["unknown host", network("ENOTFOUND"), /unreachable/],
    ["timeout", network("ETIMEDOUT"), /unreachable/],
    ["HTTP 503", status(503, "the server is currently unable to handle the request"), /unavailable \(HTTP 503\): the server is currently unable/],
    ["HTTP 500", status(500, "etcdserver: request timed out"), /unavailable \(HTTP 500\): etcdserver/],
    ["HTTP 429", status(429, "too many requests"), /unavailable \(HTTP 429\)/],
  ])("%s is E_BACKEND_UNAVAILABLE, naming the action and the context to check", (_, error, message) => {
    const mapped = kubernetesError("creating Job orch-x", error, config);
    expect(mapped).toMatchObject({ code: "E_BACKEND_UNAVAILABLE", message: expect.stringMatching(message), hint: expect.stringContaining("kubectl --context prod get pods -n ml") });
    expect(mapped.message).toContain("creating Job orch-x");
  });

  it.each([
    [401, "Unauthorized", /refused the credentials of the kubeconfig context prod/],
    [403, 'jobs.batch is forbidden: User "dev" cannot create resource "jobs"', /permission .* in namespace ml/],
    [404, 'namespaces "ml" not found', /namespace ml exists/],
    [422, 'Job.batch "x" is invalid: spec.template.spec.containers[0].image: Required value', /pod settings/],
  ])("HTTP %i is E_CONFIG_INVALID with the server's message and the fix", (code, message, hint) => {
    expect(kubernetesError("creating Job orch-x", status(code, message), config)).toMatchObject({
      code: "E_CONFIG_INVALID",
      message: `Kubernetes creating Job orch-x failed (HTTP ${code}): ${message}`,
      hint: expect.stringMatching(hint),
    });
  });

  it("a plain http:// server with TLS verification on is the kubeconfig's to fix, not an outage", () => {
    const mapped = kubernetesError("reading service account default", new Error("HTTP protocol is not allowed when skipTLSVerify is not set or false"), config);
    expect(mapped).toMatchObject({ code: "E_CONFIG_INVALID", key: "kubernetesContext", hint: expect.stringContaining("https://") });
  });

  it("passes an OrchError through unchanged", () => {
    const original = kubernetesError("x", status(401, "Unauthorized"), config);
    expect(kubernetesError("y", original, config)).toBe(original);
  });
});
