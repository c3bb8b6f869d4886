/**
 * What `orch` says and how it exits when the cluster does not cooperate, driven through the real binary:
 * an API server that cannot be reached (or cannot serve now) is the backend being unavailable
 * (E_BACKEND_UNAVAILABLE, exit 1, a hint to check the cluster); credentials or permissions the server
 * refuses are the user's configuration (E_CONFIG_INVALID, exit 2, a hint naming the fix).
 */
import { rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProject, runOrch } from "../test/cli.js";

const project = cliProject("cli-k8s-errors-");
const orch = (...args: string[]) => runOrch(project, ...args);

/** An API server that answers every request with `status` (a Kubernetes Status body), as a sick or strict cluster does. */
let answer = { status: 500, reason: "InternalError", message: "etcdserver: request timed out" };
let apiServer: Server;

const kubeconfig = (server: string) =>
  ["apiVersion: v1", "kind: Config", `clusters:\n- name: c\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`, "users:\n- name: u\n  user:\n    token: some-token", "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u", "current-context: c", ""].join("\n");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function register(name: string, server: string) {
  writeFileSync(join(project, `${name}.kubeconfig`), kubeconfig(server));
  const registered = await orch("orchestrator", "register", name, "--flavor=kubernetes", `--kubeconfig=${join(project, `${name}.kubeconfig`)}`, "--image=orch-quickstart:test");
  expect(registered.stderr).toBe("");
  expect((await orch("stack", "register", name, "-o", name, "-a", "default")).code).toBe(0);
}

beforeAll(async () => {
  expect((await orch("init")).code).toBe(0);
  apiServer = createHttpServer((request, response) => {
    request.resume();
    response.writeHead(answer.status, { "content-type": "application/json" });
    response.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: answer.message, reason: answer.reason, code: answer.status }));
  });
  await new Promise<void>((resolve) => apiServer.listen(0, "127.0.0.1", resolve));
  // "down": nothing listens on its port; "sick": the server above.
  await register("down", `http://127.0.0.1:${await freePort()}`);
  await register("sick", `http://127.0.0.1:${(apiServer.address() as { port: number }).port}`);
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => apiServer?.close(resolve));
  rmSync(project, { recursive: true, force: true });
});

/** The error `--json` printed, and the last run's status: a failed submit must not leave it running. */
async function runOn(stack: string) {
  const run = await orch("pipeline", "run", "src/pipeline.ts#quickstart", "--stack", stack, "--json");
  // --json: the error is the last JSON document on stdout (pretty-printed).
  const { error } = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf("\n{") + 1)) as { error: { code: string; message: string; hint?: string } };
  const [last] = JSON.parse((await orch("run", "list", "--json")).stdout) as { status: string }[];
  return { code: run.code, stderr: run.stderr, error, status: last?.status };
}

describe("orch against a kubernetes cluster that does not cooperate", () => {
  it("an unreachable API server is E_BACKEND_UNAVAILABLE with exit 1 and a hint to check the cluster; the run ends failed", async () => {
    const { code, stderr, error, status } = await runOn("down");
    expect(error).toMatchObject({ code: "E_BACKEND_UNAVAILABLE", message: expect.stringMatching(/API server .*unreachable/), hint: expect.stringContaining("kubectl") });
    expect(stderr).toMatch(/^error: .*unreachable/m);
    expect(stderr).toMatch(/^hint: .*cluster is up/m);
    expect(code).toBe(1);
    expect(status).toBe("failed");
  }, 120_000);

  it.each([
    [503, "ServiceUnavailable", "the server is currently unable to handle the request"],
    [500, "InternalError", "etcdserver: request timed out"],
    [429, "TooManyRequests", "too many requests, please try again later"],
  ])("an API server answering %i (%s) is E_BACKEND_UNAVAILABLE with exit 1", async (status, reason, message) => {
    answer = { status, reason, message };
    const run = await runOn("sick");
    expect(run.error).toMatchObject({ code: "E_BACKEND_UNAVAILABLE", message: expect.stringContaining(message), hint: expect.any(String) });
    expect(run.error.message).toContain(`HTTP ${status}`);
    expect(run.code).toBe(1);
    expect(run.status).toBe("failed");
  }, 120_000);

  it.each([
    [401, "Unauthorized", "Unauthorized", /credentials/],
    [403, "Forbidden", 'jobs.batch is forbidden: User "u" cannot create resource "jobs"', /permission/],
  ])("an API server refusing the credentials (%i %s) is E_CONFIG_INVALID with exit 2 and the fix", async (status, reason, message, hint) => {
    answer = { status, reason, message };
    const run = await runOn("sick");
    expect(run.error).toMatchObject({ code: "E_CONFIG_INVALID", message: expect.stringContaining(message), hint: expect.stringMatching(hint) });
    expect(run.code).toBe(2);
    expect(run.status).toBe("failed");
  }, 120_000);
});
