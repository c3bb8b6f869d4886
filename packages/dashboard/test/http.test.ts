/**
 * `orch up` / `orch down` and the dashboard's protections, checked with plain HTTP requests against a
 * real `orch up` child process (no browser needed).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openIndex } from "@orch/store-sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject, orchUp, waitFor, type RunningDashboard, type TempProject } from "./harness.js";

const PIPELINE = `
import { step, pipeline } from "@orch/core";
export const one = step({ name: "one" }, async () => 1);
export const small = pipeline({ name: "small" }, () => { one(); });
`;

describe("orch up: stop / resume / delete need the token, a POST and this origin", () => {
  let project: TempProject;
  let dashboard: RunningDashboard;
  let runId: string;
  beforeAll(async () => {
    project = createProject("dashboard-http");
    project.write("small.ts", PIPELINE);
    expect((await project.orch(["init"])).code).toBe(0);
    expect((await project.orch(["pipeline", "run", "small.ts"])).code).toBe(0);
    const index = openIndex(join(project.dir, ".orch", "orch.db"), { readonly: true });
    runId = index.listRuns({ limit: 1 })[0]!.runId;
    index.close();
    dashboard = await orchUp(project.dir);
  });
  afterAll(async () => {
    await dashboard?.stop();
    project?.remove();
  });

  const del = (init: RequestInit = {}) => fetch(`${dashboard.url}/api/runs/${runId}/delete`, { method: "POST", redirect: "manual", ...init });

  it("listens on 127.0.0.1 and serves the runs page to anyone on this machine", async () => {
    expect(new URL(dashboard.url).hostname).toBe("127.0.0.1");
    const page = await (await fetch(`${dashboard.url}/`)).text();
    expect(page).toContain(runId);
    expect(page).not.toContain(dashboard.token);
  });

  it("refuses an action without the token, with a wrong one, and as a GET", async () => {
    const none = await del();
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/needs the dashboard's token/);
    expect((await del({ headers: { "x-orch-token": "0".repeat(dashboard.token.length) } })).status).toBe(403);
    expect((await del({ headers: { "x-orch-token": "" } })).status).toBe(403);
    expect((await del({ headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${dashboard.token.slice(0, -1)}` })).status).toBe(403);
    const get = await fetch(`${dashboard.url}/api/runs/${runId}/delete?token=${dashboard.token}`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("refuses an action with the right token from another site (Origin, Sec-Fetch-Site)", async () => {
    expect((await del({ headers: { "x-orch-token": dashboard.token, origin: "http://evil.example" } })).status).toBe(403);
    expect((await del({ headers: { "x-orch-token": dashboard.token, origin: "null" } })).status).toBe(403);
    expect((await del({ headers: { "x-orch-token": dashboard.token, "sec-fetch-site": "cross-site" } })).status).toBe(403);
  });

  it("refuses requests for another host name (DNS rebinding), pages included", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const port = new URL(dashboard.url).port;
      const req = request({ host: "127.0.0.1", port, path: "/", headers: { host: `rebind.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it("refuses a link with a wrong token and turns the right one into a cookie", async () => {
    expect((await fetch(`${dashboard.url}/?token=nope`, { redirect: "manual" })).status).toBe(403);
    const right = await fetch(`${dashboard.url}/runs/${runId}?token=${dashboard.token}`, { redirect: "manual" });
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe(`/runs/${runId}`);
    expect(right.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
    expect(right.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("shows a schedule's next fire time on /pipelines and stacks with their secrets redacted on /stacks", async () => {
    const index = openIndex(join(project.dir, ".orch", "orch.db"));
    try {
      index.putSchedule({ id: "nightly", pipeline: "small", stack: "default", sourceFile: "small.ts", parameters: {}, schedule: { cron: "0 2 * * *" }, managedBy: "native", state: "active", createdAt: new Date().toISOString() });
      index.putComponent({ kind: "orchestrator", name: "cluster", flavor: "kubernetes", config: { namespace: "ml", apiToken: "s3cr3t-value", env: { DB_PASSWORD: "hunter2" } } });
      index.putStack({ name: "prod", orchestrator: "cluster", artifactStore: "default" });
    } finally {
      index.close();
    }
    const pipelines = await (await fetch(`${dashboard.url}/pipelines`)).text();
    expect(pipelines).toContain("cron 0 2 * * *");
    const next = /<tr data-schedule="nightly">(?:<td>.*?<\/td>){4}<td>([^<]+)<\/td>/.exec(pipelines)?.[1];
    expect(next).toMatch(/^\d{4}-\d{2}-\d{2} 02:00:00$/);
    expect(Date.parse(`${next!.replace(" ", "T")}Z`)).toBeGreaterThan(Date.now() - 24 * 3600_000);

    const stacks = await (await fetch(`${dashboard.url}/stacks`)).text();
    expect(stacks).toContain('data-stack="prod"');
    expect(stacks).toContain("&quot;namespace&quot;: &quot;ml&quot;");
    expect(stacks).not.toContain("s3cr3t-value");
    expect(stacks).not.toContain("hunter2");
    expect(stacks).toContain("********");
  });

  it("deletes the run with the token from its own origin (a plain form post works too)", async () => {
    const origin = dashboard.url;
    const response = await del({ headers: { "content-type": "application/x-www-form-urlencoded", origin }, body: `token=${dashboard.token}` });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/");
    await waitFor(async () => !(await (await fetch(`${dashboard.url}/`)).text()).includes(runId), "the run to leave the runs page");
    expect((await fetch(`${dashboard.url}/runs/${runId}`)).status).toBe(404);
  });
});

describe("orch up / orch down", () => {
  let project: TempProject;
  beforeAll(async () => {
    project = createProject("dashboard-updown");
    expect((await project.orch(["init"])).code).toBe(0);
  });
  afterAll(() => project?.remove());

  it("orch down says so when no dashboard runs", async () => {
    const down = await project.orch(["down"]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/No dashboard is running for this project/);
  });

  it("refuses a second orch up in the same project, and orch down stops the first", async () => {
    const dashboard = await orchUp(project.dir);
    const second = await project.orch(["up", "--port", "0"]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`A dashboard already runs for this project at ${dashboard.url}`);
    expect(second.stderr).toMatch(/hint: .*orch down/);

    const down = await project.orch(["down"]);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`Stopped the dashboard at ${dashboard.url}`);
    expect((await dashboard.child.result).code).toBe(0);
    await expect(fetch(`${dashboard.url}/`)).rejects.toThrow();
    expect(existsSync(join(project.dir, ".orch", "dashboard.json"))).toBe(false);
  });

  it("warns when asked to listen beyond loopback", async () => {
    const dashboard = await orchUp(project.dir, {}, ["--host", "0.0.0.0"]);
    try {
      expect(dashboard.child.output().stderr).toMatch(/warning: serving on 0\.0\.0\.0: anyone who can reach this machine/);
    } finally {
      await dashboard.stop();
    }
  });

  it("refuses a bad port and a port in use with a hint", async () => {
    const bad = await project.orch(["up", "--port", "http"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--port must be a port number/);
    const dashboard = await orchUp(project.dir);
    try {
      const port = new URL(dashboard.url).port;
      const other = createProject("dashboard-port");
      try {
        expect((await other.orch(["init"])).code).toBe(0);
        const busy = await other.orch(["up", "--port", port]);
        expect(busy.code).toBe(2);
        expect(busy.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
        expect(busy.stderr).toMatch(/hint: .*--port/);
      } finally {
        other.remove();
      }
    } finally {
      await dashboard.stop();
    }
  });
});
