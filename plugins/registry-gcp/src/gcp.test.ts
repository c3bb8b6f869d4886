// Issue 19: the gcp flavor gets its password from the real google-auth-library: Application Default
// Credentials from a credentials JSON (workload identity federation, `external_account`) whose token
// endpoint is a loopback STS server; the access token then pushes to a real registry (htpasswd).
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProjectImage, createDockerClient } from "@orch/docker";
import { activateContainerRegistry } from "@orch/core/host";
import plugin, { gcp } from "./index.js";
import { startRegistry, type RegistryServer } from "../../../packages/docker/test/registry-server.js";
import { BASE_IMAGE, pushTestsMissing, tinyProject } from "../../../packages/docker/test/push-fixture.js";

const ACCESS_TOKEN = "ya29.loopback-access-token-Q7";
const SUBJECT_TOKEN = "eyJhbGciOiJub25lIn0.ci-oidc-token.";

interface FakeSts {
  url: string;
  requests: URLSearchParams[];
  refuse: boolean;
  close(): Promise<void>;
}

/** Google's STS token endpoint (RFC 8693 token exchange), as external_account credentials call it. */
async function startFakeSts(): Promise<FakeSts> {
  const state = { requests: [] as URLSearchParams[], refuse: false };
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const form = new URLSearchParams(raw);
      state.requests.push(form);
      res.setHeader("content-type", "application/json");
      if (state.refuse || form.get("subject_token") !== SUBJECT_TOKEN) {
        res.writeHead(400).end(JSON.stringify({ error: "invalid_grant", error_description: "The audience in ID Token does not match the expected audience." }));
        return;
      }
      res.writeHead(200).end(JSON.stringify({ access_token: ACCESS_TOKEN, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 3600 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, { url: `http://127.0.0.1:${port}/v1/token`, close: () => new Promise<void>((r) => server.close(() => r())) });
}

describe("container registry: gcp (declaration)", () => {
  it("is a container-registry plugin named gcp", () => {
    expect(plugin).toMatchObject({ kind: "container-registry", flavor: "gcp" });
    expect(gcp({ uri: "europe-west1-docker.pkg.dev/p/r" }).flavor).toBe("gcp");
  });
});

const missing = await pushTestsMissing();
if (missing && process.env.ORCH_REQUIRE_DOCKER === "1") {
  describe("container registry: gcp (push)", () => {
    it("has Docker and docker-registry (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
} else if (missing) console.warn(`[orch] SKIPPING the gcp registry push tests: ${missing}`);

describe.skipIf(missing !== undefined)("container registry: gcp (push)", () => {
  let sts: FakeSts;
  let registry: RegistryServer;
  const project = tinyProject("orch-gcp-test");
  const dir = mkdtempSync(join(tmpdir(), "orch-gcp-creds-"));
  const credentialsFile = join(dir, "adc.json");
  beforeAll(async () => {
    [sts, registry] = await Promise.all([startFakeSts(), startRegistry({ htpasswd: { username: "oauth2accesstoken", password: ACCESS_TOKEN } })]);
    writeFileSync(join(dir, "subject-token"), SUBJECT_TOKEN);
    writeFileSync(
      credentialsFile,
      JSON.stringify({
        type: "external_account",
        audience: "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/ci/providers/github",
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        token_url: sts.url,
        credential_source: { file: join(dir, "subject-token") },
      }),
    );
  });
  afterAll(async () => {
    await project.cleanup();
    await Promise.all([sts?.close(), registry?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("exchanges the ADC credentials for an access token at the token endpoint and pushes with it", async () => {
    const component = await activateContainerRegistry(gcp({ uri: registry.host, credentialsFile }), project.dir);
    const target = await component.open!();
    const result = await buildProjectImage({ docker: createDockerClient(), projectRoot: project.dir, baseImage: BASE_IMAGE, imageName: project.imageName, registry: target });
    expect(result.uploaded).toBe(true);
    expect(await registry.tags(project.imageName)).toEqual([result.hash.slice(0, 16)]);
    expect(sts.requests[0]!.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:token-exchange");
    expect(sts.requests[0]!.get("scope")).toBe("https://www.googleapis.com/auth/cloud-platform");
  });

  it("finds the credentials through GOOGLE_APPLICATION_CREDENTIALS, and names them when the token endpoint refuses", async () => {
    const previous = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = credentialsFile;
    sts.refuse = true;
    try {
      const component = await activateContainerRegistry(gcp({ uri: registry.host }), project.dir);
      const target = await component.open!();
      expect(target.credentialSource).toContain(`GOOGLE_APPLICATION_CREDENTIALS=${credentialsFile}`);
      const error = await target.credentials().then(
        () => undefined,
        (e: unknown) => e as Error & { code: string; hint: string },
      );
      expect(error).toMatchObject({ code: "E_REGISTRY_AUTH" });
      expect(error!.message).toContain(registry.host);
      expect(error!.message).toContain("Application Default Credentials");
      expect(error!.hint).toMatch(/gcloud auth application-default login/);
    } finally {
      sts.refuse = false;
      if (previous === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = previous;
    }
  });
});
