/**
 * The hand-written KFP client checked against KFP's published swagger (backend/api/v2beta1, in the
 * conformance folder): every request it makes uses a path and method the API declares, only declared
 * query parameters, and body fields the API's definitions have (nested objects too); the list fields it
 * reads are the ones the responses declare.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KFP_CONFORMANCE_MISSING, findKfpConformance } from "@orch/kfp/testing";
import { KfpApiError, KfpClient, kfpError } from "./client.js";

const conformance = findKfpConformance();
if (!conformance) console.warn(`kubeflow client tests: ${KFP_CONFORMANCE_MISSING}`);

interface Recorded {
  method: string;
  url: URL;
  body?: unknown;
  form?: boolean;
}

function recordingClient(responses: Record<string, unknown> = {}) {
  const calls: Recorded[] = [];
  const fakeFetch = (async (input: URL, init: RequestInit) => {
    const body = init.body;
    calls.push({ method: init.method ?? "GET", url: new URL(input), ...(typeof body === "string" ? { body: JSON.parse(body) } : {}), ...(body instanceof FormData ? { form: true } : {}) });
    const key = `${init.method} ${new URL(input).pathname}`;
    return new Response(JSON.stringify(responses[key] ?? {}), { status: 200, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { calls, client: new KfpClient({ host: "http://kfp.example/pipeline/", token: "t", namespace: "team-a", fetch: fakeFetch }) };
}

async function exerciseEveryCall(client: KfpClient): Promise<void> {
  const reference = { pipeline_id: "p", pipeline_version_id: "v" };
  await client.getPipelineByName("iris-training");
  await client.uploadPipeline("yaml", { name: "iris-training", displayName: "iris-training", description: "d" });
  await client.uploadPipelineVersion("yaml", "p", { name: "v1", displayName: "v1" });
  await client.findPipelineVersion("p", "v1");
  await client.listPipelineVersions("p");
  await client.findExperiment("orch");
  await client.createExperiment("orch");
  await client.createRun({ display_name: "r", description: "d", experiment_id: "e", pipeline_version_reference: reference, runtime_config: { parameters: { orch_run_id: "r" }, pipeline_root: "s3://b/p" }, service_account: "sa" });
  await client.getRun("r1");
  await client.findRunByName("r");
  await client.terminateRun("r1");
  await client.createRecurringRun({
    display_name: "s",
    description: "d",
    pipeline_version_reference: reference,
    runtime_config: { parameters: {} },
    service_account: "sa",
    trigger: { cron_schedule: { cron: "0 0 3 * * *", start_time: "2030-01-01T00:00:00Z" } },
    max_concurrency: "1",
    no_catchup: true,
    mode: "ENABLE",
    experiment_id: "e",
    namespace: "team-a",
  });
  await client.getRecurringRun("s1");
  await client.listRecurringRuns();
  await client.deleteRecurringRun("s1");
}

describe.skipIf(!conformance)(`the KFP client matches KFP's v2beta1 swagger ${conformance ? "" : KFP_CONFORMANCE_MISSING}`, () => {
  const swagger = conformance ? (JSON.parse(readFileSync(join(conformance, "swagger", "kfp_api_single_file.swagger.json"), "utf8")) as any) : undefined;

  it("sends only declared paths, methods, query parameters and body fields", async () => {
    const { calls, client } = recordingClient();
    await exerciseEveryCall(client);
    expect(calls.length).toBe(15);
    const templates = Object.keys(swagger.paths);
    for (const call of calls) {
      const path = call.url.pathname.replace(/^\/pipeline/, "");
      // A literal path wins over a template (/pipelines/upload is not /pipelines/{pipeline_id}).
      const template = templates.find((t) => t === path) ?? templates.find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/:]+")}$`).test(path) && swagger.paths[t][call.method.toLowerCase()]);
      expect(template, `${call.method} ${path} is not in the swagger`).toBeDefined();
      const operation = swagger.paths[template!][call.method.toLowerCase()];
      expect(operation, `${call.method} ${template}`).toBeDefined();
      const params: { name: string; in: string; schema?: { $ref?: string } }[] = operation.parameters ?? [];
      for (const name of call.url.searchParams.keys()) expect(params.some((p) => p.in === "query" && p.name === name), `${call.method} ${template} ?${name}`).toBe(true);
      if (call.form) expect(params.some((p) => p.in === "formData" && p.name === "uploadfile")).toBe(true);
      if (call.body !== undefined) {
        const bodyParam = params.find((p) => p.in === "body")!;
        expect(bodyParam, `${call.method} ${template} takes no body`).toBeDefined();
        checkFields(call.body, bodyParam.schema!.$ref!, `${call.method} ${template}`);
      }
    }
  });

  it("reads the list fields the responses declare (recurringRuns really is camelCase)", () => {
    const fields = (name: string) => Object.keys(swagger.definitions[name].properties);
    expect(fields("v2beta1ListPipelineVersionsResponse")).toEqual(expect.arrayContaining(["pipeline_versions", "next_page_token"]));
    expect(fields("v2beta1ListExperimentsResponse")).toContain("experiments");
    expect(fields("v2beta1ListRunsResponse")).toContain("runs");
    expect(fields("v2beta1ListRecurringRunsResponse")).toEqual(expect.arrayContaining(["recurringRuns", "next_page_token"]));
    expect(fields("v2beta1PipelineTaskDetail")).toEqual(expect.arrayContaining(["display_name", "state", "pod_name", "error"]));
    expect(swagger.definitions.v2beta1RuntimeState.enum).toEqual(expect.arrayContaining(["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"]));
  });

  function checkFields(value: unknown, ref: string, where: string): void {
    const definition = swagger.definitions[ref.replace("#/definitions/", "")];
    expect(definition, `${where}: ${ref}`).toBeDefined();
    if (!definition.properties || typeof value !== "object" || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      const property = definition.properties[key];
      expect(property, `${where}: field ${key} is not in ${ref}`).toBeDefined();
      if (property.$ref) checkFields(item, property.$ref, `${where}.${key}`);
      if (property.type === "string" && property.format === "int64") expect(typeof item, `${where}.${key} is int64: a string`).toBe("string");
    }
  }
});

describe("KfpClient", () => {
  it("sends the bearer token and the user namespace, and follows page tokens", async () => {
    const { calls, client } = recordingClient({ "GET /pipeline/apis/v2beta1/recurringruns": { recurringRuns: [{ recurring_run_id: "a", display_name: "a" }] } });
    expect(await client.listRecurringRuns()).toEqual([{ recurring_run_id: "a", display_name: "a" }]);
    expect(calls[0]!.url.searchParams.get("namespace")).toBe("team-a");
    let page = 0;
    const pages = new KfpClient({
      host: "http://kfp.example",
      fetch: (async (_url: URL, init: RequestInit) => {
        expect((init.headers as Record<string, string>).authorization).toBeUndefined();
        page++;
        return new Response(JSON.stringify(page === 1 ? { pipeline_versions: [{ pipeline_version_id: "1" }], next_page_token: "n" } : { pipeline_versions: [{ pipeline_version_id: "2" }] }));
      }) as typeof fetch,
    });
    expect((await pages.listPipelineVersions("p")).map((v) => v.pipeline_version_id)).toEqual(["1", "2"]);
  });

  it("turns KFP's error bodies into errors that say whose move it is", async () => {
    const failing = (status: number, body: unknown) =>
      new KfpClient({ host: "http://kfp.example", fetch: (async () => new Response(JSON.stringify(body), { status })) as typeof fetch });
    const refused = await failing(403, { error_message: "User is not authorized", code: 7 }).getRun("r").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KfpApiError);
    const orch = kfpError("reading run r", refused, { host: "http://kfp.example" });
    expect(orch).toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringContaining("HTTP 403: User is not authorized"), hint: expect.stringContaining("token") });
    const down = await failing(503, { message: "upstream connect error" }).getRun("r").catch((e: unknown) => e);
    expect(kfpError("reading run r", down, { host: "http://kfp.example" })).toMatchObject({ code: "E_BACKEND_UNAVAILABLE" });
    const unreachable = await new KfpClient({ host: "http://127.0.0.1:9" }).getRun("r").catch((e: unknown) => e);
    expect(kfpError("reading run r", unreachable, { host: "http://127.0.0.1:9" })).toMatchObject({ code: "E_BACKEND_UNAVAILABLE", hint: expect.stringContaining("port-forward") });
  });
});
