// Issue 19: the aws flavor logs in through the real @aws-sdk/client-ecr (GetAuthorizationToken over the
// AWS JSON 1.1 protocol) against a loopback ECR API, creates the missing repository, and pushes to a
// real registry (docker-registry, htpasswd) with the credentials ECR gave.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProjectImage, createDockerClient } from "@orch/docker";
import { activateContainerRegistry } from "@orch/core/host";
import plugin, { aws, regionOfUri } from "./index.js";
import { startRegistry, type RegistryServer } from "../../../packages/docker/test/registry-server.js";
import { BASE_IMAGE, pushTestsMissing, tinyProject } from "../../../packages/docker/test/push-fixture.js";

const TOKEN_PASSWORD = "ecr-token-Zx81-secret";

interface FakeEcr {
  endpoint: string;
  calls: { target: string; body: Record<string, unknown>; authorization: string }[];
  repositories: Set<string>;
  deny: boolean;
  close(): Promise<void>;
}

/** Speaks ECR's AWS JSON 1.1 protocol: X-Amz-Target picks the operation, errors carry __type. */
async function startFakeEcr(): Promise<FakeEcr> {
  const state = { calls: [] as FakeEcr["calls"], repositories: new Set<string>(), deny: false };
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "").replace("AmazonEC2ContainerRegistry_V20150921.", "");
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      state.calls.push({ target, body, authorization: String(req.headers.authorization ?? "") });
      const reply = (status: number, data: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "test" });
        res.end(JSON.stringify(data));
      };
      if (state.deny) return reply(400, { __type: "AccessDeniedException", message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken" });
      if (target === "GetAuthorizationToken") {
        return reply(200, { authorizationData: [{ authorizationToken: Buffer.from(`AWS:${TOKEN_PASSWORD}`).toString("base64"), expiresAt: Date.now() / 1000 + 43200, proxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com" }] });
      }
      if (target === "DescribeRepositories") {
        const name = (body.repositoryNames as string[])[0]!;
        if (!state.repositories.has(name)) return reply(400, { __type: "RepositoryNotFoundException", message: `The repository with name '${name}' does not exist` });
        return reply(200, { repositories: [{ repositoryName: name }] });
      }
      if (target === "CreateRepository") {
        state.repositories.add(String(body.repositoryName));
        return reply(200, { repository: { repositoryName: body.repositoryName } });
      }
      reply(400, { __type: "UnknownOperationException" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) });
}

describe("container registry: aws (names and config)", () => {
  it("reads the region from an ECR URI and is its own package, not the s3 store's", () => {
    expect(regionOfUri("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team")).toBe("eu-west-1");
    expect(regionOfUri("127.0.0.1:5000")).toBeUndefined();
    expect(plugin).toMatchObject({ kind: "container-registry", flavor: "aws" });
    expect(aws({ uri: "x" }).flavor).toBe("aws");
  });

  it("refuses a non-ECR uri without a region, naming the key", async () => {
    const registry = await activateContainerRegistry(aws({ uri: "127.0.0.1:5000" }), process.cwd());
    await expect(registry.open!()).rejects.toMatchObject({ code: "E_CONFIG_INVALID", key: "region" });
  });
});

const missing = await pushTestsMissing();
if (missing && process.env.ORCH_REQUIRE_DOCKER === "1") {
  describe("container registry: aws (push)", () => {
    it("has Docker and docker-registry (ORCH_REQUIRE_DOCKER=1)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
} else if (missing) console.warn(`[orch] SKIPPING the aws registry push tests: ${missing}`);

describe.skipIf(missing !== undefined)("container registry: aws (push)", () => {
  let ecr: FakeEcr;
  let registry: RegistryServer;
  const project = tinyProject("orch-ecr-test");
  beforeAll(async () => {
    [ecr, registry] = await Promise.all([startFakeEcr(), startRegistry({ htpasswd: { username: "AWS", password: TOKEN_PASSWORD } })]);
  });
  afterAll(async () => {
    await project.cleanup();
    await Promise.all([ecr?.close(), registry?.stop()]);
  });

  it("gets a token with GetAuthorizationToken, creates the repository, and pushes with it", async () => {
    const component = await activateContainerRegistry(aws({ uri: registry.host, region: "us-east-1", endpoint: ecr.endpoint, accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" }), project.dir);
    const target = await component.open!();
    const result = await buildProjectImage({ docker: createDockerClient(), projectRoot: project.dir, baseImage: BASE_IMAGE, imageName: project.imageName, registry: target });
    expect(result).toMatchObject({ uploaded: true });
    expect(result.pushed).toMatch(new RegExp(`^${registry.host}/${project.imageName}@sha256:`));
    expect(await registry.tags(project.imageName)).toEqual([result.hash.slice(0, 16)]);
    expect(ecr.calls.map((c) => c.target)).toEqual(["GetAuthorizationToken", "DescribeRepositories", "CreateRepository"]);
    expect(ecr.calls[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/us-east-1\/ecr\/aws4_request/); // signed by the real SDK
    expect([...ecr.repositories]).toEqual([project.imageName]);

    // Unchanged: one HEAD with the cached token, no repository calls, nothing pushed.
    const again = await buildProjectImage({ docker: createDockerClient(), projectRoot: project.dir, baseImage: BASE_IMAGE, imageName: project.imageName, registry: target });
    expect(again.uploaded).toBe(false);
    expect(ecr.calls).toHaveLength(3);
  });

  it("names the registry and the credential source when ECR refuses the token", async () => {
    ecr.deny = true;
    try {
      const component = await activateContainerRegistry(aws({ uri: registry.host, region: "us-east-1", endpoint: ecr.endpoint, accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" }), project.dir);
      const target = await component.open!();
      const error = await buildProjectImage({ docker: createDockerClient(), projectRoot: project.dir, baseImage: BASE_IMAGE, imageName: project.imageName, registry: target }).then(
        () => undefined,
        (e: unknown) => e as Error & { code: string; hint: string },
      );
      expect(error).toMatchObject({ code: "E_REGISTRY_AUTH" });
      expect(error!.message).toContain(registry.host);
      expect(error!.message).toContain("access key in the component config");
      expect(error!.message).toContain("not authorized to perform: ecr:GetAuthorizationToken");
      expect(error!.hint).toMatch(/ecr:GetAuthorizationToken/);
      expect(`${error!.message}${error!.hint}`).not.toContain("test-secret");
    } finally {
      ecr.deny = false;
    }
  });
});
