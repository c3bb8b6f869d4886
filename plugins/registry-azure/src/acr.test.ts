// Issue 19: the azure flavor exchanges a Microsoft Entra ID token for an ACR refresh token at the
// registry's /oauth2/exchange, and the push then authenticates the way ACR does it: a real registry
// (docker-registry) in token-auth mode sends the engine (and our manifest HEAD) to /oauth2/token,
// which trades the refresh token for a signed access token the registry verifies.
import { execFileSync } from "node:child_process";
import { createSign, randomUUID, X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProjectImage, createDockerClient } from "@orch/docker";
import { activateContainerRegistry } from "@orch/core/host";
import plugin, { azure } from "./index.js";
import { ACR_REFRESH_TOKEN_USER } from "./runtime.js";
import { freePort, startRegistry, type RegistryServer } from "../../../packages/docker/test/registry-server.js";
import { BASE_IMAGE, pushTestsMissing, tinyProject } from "../../../packages/docker/test/push-fixture.js";

const ENTRA_TOKEN = "entra-access-token-for-arm-Kq2";
const ISSUER = "Azure Container Registry";

describe("container registry: azure (declaration)", () => {
  it("is the azure container registry, a different package from the azure artifact store", () => {
    expect(plugin).toMatchObject({ kind: "container-registry", flavor: "azure" });
    expect(azure({ uri: "myregistry.azurecr.io" }).flavor).toBe("azure");
  });
});

interface FakeAcrAuth {
  endpoint: string;
  exchanges: URLSearchParams[];
  tokenRequests: string[];
  close(): Promise<void>;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/** ACR's token service: /oauth2/exchange (Entra token → refresh token) and /oauth2/token (→ access token). */
async function startFakeAcrAuth(service: string, keyPem: string, certPem: string): Promise<FakeAcrAuth> {
  const certDer = new X509Certificate(certPem).raw;
  const sign = (claims: Record<string, unknown>) => {
    const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [certDer.toString("base64")] }));
    const body = b64url(JSON.stringify(claims));
    const signature = createSign("RSA-SHA256").update(`${header}.${body}`).sign(keyPem);
    return `${header}.${body}.${b64url(signature)}`;
  };
  const now = () => Math.floor(Date.now() / 1000);
  const refreshToken = sign({ iss: ISSUER, aud: service, sub: "ci@contoso", exp: now() + 3 * 3600, nbf: now() - 60, iat: now(), jti: randomUUID(), grant_type: "refresh_token" });
  const state = { exchanges: [] as URLSearchParams[], tokenRequests: [] as string[] };
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://acr");
      const json = (status: number, data: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(data));
      if (url.pathname === "/oauth2/exchange" && req.method === "POST") {
        const form = new URLSearchParams(raw);
        state.exchanges.push(form);
        if (form.get("grant_type") !== "access_token" || form.get("access_token") !== ENTRA_TOKEN || form.get("service") !== service) {
          return json(401, { errors: [{ code: "UNAUTHORIZED", message: "Invalid AAD access token" }] });
        }
        return json(200, { refresh_token: refreshToken });
      }
      if (url.pathname === "/oauth2/token") {
        // GET with basic auth (the Docker engine, docker login style) or POST grant_type=refresh_token (OAuth2).
        const form = req.method === "POST" ? new URLSearchParams(raw) : url.searchParams;
        const basic = Buffer.from(String(req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString("utf8");
        const presented = form.get("refresh_token") ?? (basic.startsWith(`${ACR_REFRESH_TOKEN_USER}:`) ? basic.slice(ACR_REFRESH_TOKEN_USER.length + 1) : "");
        state.tokenRequests.push(req.method!);
        if (presented !== refreshToken) return json(401, { errors: [{ code: "UNAUTHORIZED", message: "invalid refresh token" }] });
        const access = form.getAll("scope").map((scope) => {
          const [type, name, actions] = scope.split(":");
          return { type, name, actions: actions!.split(",") };
        });
        const token = sign({ iss: ISSUER, aud: service, sub: "ci@contoso", exp: now() + 3600, nbf: now() - 60, iat: now(), jti: randomUUID(), access });
        return json(200, { access_token: token, token });
      }
      json(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) });
}

const missing = await pushTestsMissing();
if (missing && process.env.ORCH_REQUIRE_DOCKER === "1") {
  describe("container registry: azure (push)", () => {
    it("has Docker and docker-registry (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
} else if (missing) console.warn(`[orch] SKIPPING the azure registry push tests: ${missing}`);

describe.skipIf(missing !== undefined)("container registry: azure (push)", () => {
  let auth: FakeAcrAuth;
  let registry: RegistryServer;
  const project = tinyProject("orch-acr-test");
  const dir = mkdtempSync(join(tmpdir(), "orch-acr-certs-"));
  beforeAll(async () => {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/CN=orch-test-acr-token", "-days", "1"], { stdio: "ignore" });
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    auth = await startFakeAcrAuth(host, readFileSync(join(dir, "key.pem"), "utf8"), readFileSync(join(dir, "cert.pem"), "utf8"));
    registry = await startRegistry({ port, token: { realm: `${auth.endpoint}/oauth2/token`, service: host, issuer: ISSUER, certificateFile: join(dir, "cert.pem") } });
  });
  afterAll(async () => {
    delete process.env.ORCH_TEST_ENTRA_TOKEN;
    await project.cleanup();
    await Promise.all([auth?.close(), registry?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("exchanges the Entra token at /oauth2/exchange and pushes through /oauth2/token", async () => {
    process.env.ORCH_TEST_ENTRA_TOKEN = ENTRA_TOKEN;
    const component = await activateContainerRegistry(azure({ uri: registry.host, accessToken: "{{env.ORCH_TEST_ENTRA_TOKEN}}", authEndpoint: auth.endpoint }), project.dir);
    expect(component.config.accessToken).toBe("{{env.ORCH_TEST_ENTRA_TOKEN}}"); // resolved at push time, never stored resolved
    const target = await component.open!();
    const result = await buildProjectImage({ docker: createDockerClient(), projectRoot: project.dir, baseImage: BASE_IMAGE, imageName: project.imageName, registry: target });
    expect(result.uploaded).toBe(true);
    expect(result.pushed).toMatch(new RegExp(`^${registry.host}/${project.imageName}@sha256:`));
    expect(auth.exchanges).toHaveLength(1);
    expect(auth.exchanges[0]!.get("service")).toBe(registry.host);
    expect(auth.tokenRequests.length).toBeGreaterThan(0); // the engine and the manifest HEAD both went through /oauth2/token
    const again = await buildProjectImage({ docker: createDockerClient(), projectRoot: project.dir, baseImage: BASE_IMAGE, imageName: project.imageName, registry: target });
    expect(again).toMatchObject({ uploaded: false, digest: result.digest });
    expect(auth.exchanges).toHaveLength(1); // the refresh token is reused until it nears expiry
  });

  it("says which registry refused the exchange, from which credential source, and what role is needed", async () => {
    process.env.ORCH_TEST_ENTRA_TOKEN = "an-expired-entra-token";
    const component = await activateContainerRegistry(azure({ uri: registry.host, accessToken: "{{env.ORCH_TEST_ENTRA_TOKEN}}", authEndpoint: auth.endpoint }), project.dir);
    const target = await component.open!();
    const error = await target.credentials().then(
      () => undefined,
      (e: unknown) => e as Error & { code: string; hint: string },
    );
    expect(error).toMatchObject({ code: "E_REGISTRY_AUTH" });
    expect(error!.message).toContain(registry.host);
    expect(error!.message).toContain("accessToken");
    expect(error!.message).toContain("Invalid AAD access token");
    expect(error!.hint).toMatch(/AcrPush/);
    expect(`${error!.message}${error!.hint}`).not.toContain("an-expired-entra-token");
  });
});
