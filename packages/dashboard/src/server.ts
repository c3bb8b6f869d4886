/**
 * The dashboard's HTTP server (node:http, no framework: a dozen routes).
 *
 * Protections, because a local port is reachable from every web page the user opens:
 * - loopback by default; the `Host` header must name the loopback address the server listens on
 *   (a DNS-rebinding page sends its own host name and is refused);
 * - pages only read; stop / resume / delete are POST requests that must carry the per-start token
 *   (a header or a form field) and, when the browser sends `Origin` / `Sec-Fetch-Site`, come from this
 *   origin. The browser gets the token from the URL `orch up` prints: it is moved into an HttpOnly,
 *   SameSite=Strict cookie and the URL is cleaned; pages rendered for that browser carry it in their
 *   action forms, which other sites cannot read;
 * - `Referrer-Policy: no-referrer`, a strict Content-Security-Policy, no framing.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { OrchIndex } from "@orch/store-sqlite";
import { DashboardData, type DashboardProject, type RunView } from "./data.js";
import { html } from "./html.js";
import { followRun } from "./live.js";
import { page, pageEnd, pageStart } from "./pages/layout.js";
import { renderPipelinesPage } from "./pages/pipelines.js";
import { renderDagSection, renderRunHeader, renderStepPanel } from "./pages/run.js";
import { readRunsQuery, renderRunsPage } from "./pages/runs.js";
import { renderStacksPage } from "./pages/stacks.js";

export const DEFAULT_PORT = 8237;
export const LOOPBACK = "127.0.0.1";

export interface ActionOutcome {
  ok: boolean;
  message: string;
}

/** What the buttons do. The host (the orch CLI) supplies them: the dashboard itself never runs pipelines. */
export interface DashboardActions {
  stop(runId: string): Promise<ActionOutcome>;
  resume(runId: string): Promise<ActionOutcome>;
  delete(runId: string): Promise<ActionOutcome>;
}

export interface DashboardOptions {
  /** The project's open index (the caller closes it after `close()`). */
  index: OrchIndex;
  project: DashboardProject;
  /** Default 127.0.0.1. Anything else serves every machine that can reach it. */
  host?: string;
  /** Default 8237; 0 picks a free port. */
  port?: number;
  /** The token actions need; default: 24 random bytes, hex. */
  token?: string;
  /** Brings runs that are only in journals into the index and settles runs whose process died (throttled to once a second). */
  refresh?: () => void | Promise<void>;
  actions?: DashboardActions;
  /** How often a live page re-reads a running run's journal. Default 500 ms. */
  pollMs?: number;
}

export interface Dashboard {
  /** `http://host:port` */
  url: string;
  /** The URL to open: with `?token=…`, which enables the action buttons in that browser. */
  urlWithToken: string;
  host: string;
  port: number;
  token: string;
  server: Server;
  close(): Promise<void>;
}

const ASSETS: Record<string, string> = { "app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8" };
const assetCache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let body = assetCache.get(name);
  if (!body) {
    // src/ and dist/ both sit one level below the package root, next to assets/.
    body = readFileSync(new URL(`../assets/${name}`, import.meta.url));
    assetCache.set(name, body);
  }
  return body;
}

const SECURITY_HEADERS = {
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
};

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? LOOPBACK;
  const token = options.token ?? randomBytes(24).toString("hex");
  const data = new DashboardData(options.index, options.project);
  const pollMs = options.pollMs ?? 500;
  let port = options.port ?? DEFAULT_PORT;
  const cookieName = () => `orch_dashboard_${port}`;
  const open = new Set<ServerResponse>();
  const closing = new AbortController();

  let lastRefresh = 0;
  let refreshing: Promise<void> | undefined;
  const refresh = async () => {
    if (!options.refresh || Date.now() - lastRefresh < 1000) return refreshing;
    lastRefresh = Date.now();
    refreshing = Promise.resolve(options.refresh()).catch(() => {});
    return refreshing;
  };

  const tokenMatches = (candidate: string | undefined) => {
    if (!candidate) return false;
    const a = Buffer.from(candidate);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const cookieToken = (req: IncomingMessage) => {
    const match = new RegExp(`(?:^|;\\s*)${cookieName()}=([^;]+)`).exec(req.headers.cookie ?? "");
    return match?.[1];
  };

  const hostAllowed = (req: IncomingMessage) => {
    if (!isLoopback(host)) return true; // served on purpose beyond loopback (orch up warned)
    const header = req.headers.host ?? "";
    const name = header.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    return isLoopback(name);
  };

  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (res.headersSent) {
        res.end();
        return;
      }
      if (req.url?.startsWith("/api/")) sendJson(res, status, { error: { code: status === 403 ? "E_FORBIDDEN" : status === 404 ? "E_NOT_FOUND" : "E_DASHBOARD", message, ...(error instanceof HttpError && error.hint ? { hint: error.hint } : {}) } });
      else sendHtml(res, status, page(`Error ${status}`, undefined, html`<main id="main"><h1>${status === 404 ? "Not found" : "Something went wrong"}</h1><p class="error" role="alert">${message}</p>${error instanceof HttpError && error.hint ? html`<p class="hint">${error.hint}</p>` : ""}<p><a href="/">All runs</a></p></main>`));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req)) throw new HttpError(403, `Host "${req.headers.host}" is not this dashboard's address.`, `Open http://${LOOPBACK}:${port}/ instead.`);
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const path = url.pathname;
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);

    if (parts[0] === "api" && parts[1] === "runs" && parts.length === 4 && ["stop", "resume", "delete"].includes(parts[3]!)) {
      return action(req, res, parts[2]!, parts[3] as keyof DashboardActions);
    }
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, `${req.method} is not allowed here.`);

    const queryToken = url.searchParams.get("token");
    if (queryToken !== null) {
      if (!tokenMatches(queryToken)) throw new HttpError(403, "This link's token is not the one of this dashboard.", "Use the URL the running `orch up` printed (a new token is made at every start).");
      url.searchParams.delete("token");
      res.writeHead(303, { location: `${path}${url.search}`, "set-cookie": `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/` });
      res.end();
      return;
    }
    const access = { token: tokenMatches(cookieToken(req)) ? token : undefined };

    if (parts[0] === "assets" && parts.length === 2 && ASSETS[parts[1]!]) {
      res.writeHead(200, { "content-type": ASSETS[parts[1]!]!, "cache-control": "no-cache" });
      res.end(asset(parts[1]!));
      return;
    }
    if (path === "/") {
      await refresh();
      return sendHtml(res, 200, renderRunsPage(options.index, readRunsQuery(url.searchParams)));
    }
    if (path === "/pipelines") return sendHtml(res, 200, renderPipelinesPage(options.index));
    if (path === "/stacks") return sendHtml(res, 200, await renderStacksPage(options.index, options.project.root));
    if (parts[0] === "runs" && (parts.length === 2 || (parts.length === 4 && parts[2] === "steps"))) {
      return runPage(res, parts[1]!, parts[3], access, url.searchParams.get("fragment"));
    }
    if (parts[0] === "api" && parts[1] === "runs" && parts[3] === "events" && parts.length === 4) {
      const controller = new AbortController();
      const stop = () => controller.abort();
      req.on("close", stop);
      closing.signal.addEventListener("abort", stop, { once: true });
      open.add(res);
      try {
        const from = Number(url.searchParams.get("from") ?? 0);
        await followRun(data, parts[2]!, res, { pollMs, logStep: url.searchParams.get("log") ?? undefined, logFrom: Number.isFinite(from) && from >= 0 ? from : 0, signal: controller.signal });
      } finally {
        open.delete(res);
        closing.signal.removeEventListener("abort", stop);
      }
      return;
    }
    throw new HttpError(404, `Nothing at ${path}.`);
  }

  async function runPage(res: ServerResponse, runId: string, stepId: string | undefined, access: { token?: string | undefined }, fragment: string | null): Promise<void> {
    if (!options.index.getRun(runId)) await refresh();
    let early = data.indexView(runId);
    if (!early) throw new HttpError(404, `Run ${runId} is not in this project's index.`, "See all runs on the Runs page.");
    let view: RunView | undefined;
    if (fragment || (stepId !== undefined && !early.order.includes(stepId))) {
      view = early = (await data.runView(runId))!;
      if (stepId !== undefined && !view.order.includes(stepId)) throw new HttpError(404, `Run ${runId} has no step "${stepId}".`, "Pick a step in the run's DAG.");
    }
    if (fragment === "panel" && stepId) return sendHtml(res, 200, (await renderStepPanel(data, view!, stepId)).text);
    if (fragment === "dag") return sendHtml(res, 200, renderDagSection(view!, stepId).text);
    if (fragment === "head") return sendHtml(res, 200, renderRunHeader(view!, access).text);
    // Streamed: the head and the run's summary (from the index) paint while the journal is read and
    // the DAG laid out.
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    const live = early.run.status === "running" ? ` data-live="/api/runs/${encodeURIComponent(runId)}/events"` : "";
    res.write(`${pageStart(stepId ? `${stepId} · run ${runId}` : `Run ${runId}`, "runs")}<main id="main" class="run" data-run="${escapeAttr(runId)}" data-status="${escapeAttr(early.run.status)}"${live}>${renderRunHeader(early, access)}`);
    await new Promise((resolve) => setImmediate(resolve));
    view ??= (await data.runView(runId)) ?? early;
    res.write(`<div class="run-body">${renderDagSection(view, stepId)}`);
    if (stepId) res.write((await renderStepPanel(data, view, stepId)).text);
    res.write(`</div></main>${pageEnd()}`);
    res.end();
  }

  async function action(req: IncomingMessage, res: ServerResponse, runId: string, name: keyof DashboardActions): Promise<void> {
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      throw new HttpError(405, `${name} needs a POST request with the dashboard's token.`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) throw new HttpError(403, `Refused a ${name} request from another site (${origin}).`, "Use the buttons of the dashboard itself.");
    if (req.headers["sec-fetch-site"] === "cross-site") throw new HttpError(403, `Refused a cross-site ${name} request.`, "Use the buttons of the dashboard itself.");
    const body = await readBody(req, 4096);
    const form = new URLSearchParams(req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") ? body : "");
    const given = (req.headers["x-orch-token"] as string | undefined) ?? form.get("token") ?? undefined;
    if (!tokenMatches(given)) throw new HttpError(403, `${name} needs the dashboard's token.`, "Open the URL with ?token=… that `orch up` printed, then use the buttons.");
    if (!options.actions) throw new HttpError(501, `This dashboard cannot ${name} runs.`);
    if (!options.index.getRun(runId)) throw new HttpError(404, `Run ${runId} is not in this project's index.`);
    const outcome = await options.actions[name](runId);
    lastRefresh = 0; // show the effect at once
    if (form.has("token") && !req.headers["x-orch-token"]) {
      // A plain form post (no script): back to the page.
      res.writeHead(303, { location: name === "delete" && outcome.ok ? "/" : `/runs/${encodeURIComponent(runId)}` });
      res.end();
      return;
    }
    sendJson(res, outcome.ok ? 200 : 409, outcome);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  const url = `http://${hostInUrl}:${port}`;
  return {
    url,
    urlWithToken: `${url}/?token=${token}`,
    host,
    port,
    token,
    server,
    async close() {
      closing.abort();
      for (const res of open) res.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    },
  };
}

function sendHtml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(value));
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, "Request body too large."));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function escapeAttr(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
