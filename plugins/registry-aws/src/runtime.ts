import { OrchError, registryHost, resolveRegistrySecret, type ContainerRegistry, type RegistryCredentials } from "@orch/core/plugin";
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { FLAVOR, regionOfUri, type AwsRegistryConfig } from "./schema.js";

/** Opens an ECR registry: the client is made now (no I/O); tokens are fetched when a push needs them. */
export function createEcrRegistry(config: AwsRegistryConfig, _context: { projectRoot: string }): ContainerRegistry {
  const host = registryHost(config.uri, FLAVOR);
  const region = config.region ?? regionOfUri(config.uri);
  if (!region) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: FLAVOR,
      key: "region",
      message: `[orch] [aws] uri: "${config.uri}" is not an ECR host (<account>.dkr.ecr.<region>.amazonaws.com), so the region cannot be read from it.`,
      hint: "Set region (--region=eu-west-1), or use the registry URI ECR shows for your account.",
    });
  }
  const explicitKeys = config.accessKeyId !== undefined || config.secretAccessKey !== undefined;
  const credentialSource = explicitKeys ? "ECR GetAuthorizationToken with the access key in the component config" : "ECR GetAuthorizationToken with the AWS default credential chain (AWS_* variables, profile, SSO, instance role)";
  let client: ECRClient | undefined;
  const ecr = () => {
    if (client) return client;
    const accessKeyId = resolveRegistrySecret(config.accessKeyId, FLAVOR, "accessKeyId").value;
    const secretAccessKey = resolveRegistrySecret(config.secretAccessKey, FLAVOR, "secretAccessKey").value;
    const sessionToken = resolveRegistrySecret(config.sessionToken, FLAVOR, "sessionToken").value;
    client = new ECRClient({
      region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
    });
    return client;
  };
  let cached: { credentials: RegistryCredentials; expiresAt: number } | undefined;
  return {
    flavor: FLAVOR,
    uri: config.uri.replace(/\/+$/, ""),
    credentialSource,
    async credentials() {
      // ECR tokens live 12 hours; one is reused until five minutes before it expires.
      if (cached && cached.expiresAt - Date.now() > 5 * 60_000) return cached.credentials;
      let data;
      try {
        data = (await ecr().send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
      } catch (cause) {
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `Could not get an ECR login token for ${host} (region ${region}) via ${credentialSource}: ${(cause as Error)?.message ?? cause}`,
          hint: "Check the AWS credentials orch runs with (aws sts get-caller-identity) and that they allow ecr:GetAuthorizationToken.",
          cause,
        });
      }
      const token = data?.authorizationToken ? Buffer.from(data.authorizationToken, "base64").toString("utf8") : "";
      const colon = token.indexOf(":");
      if (colon <= 0) {
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `ECR answered GetAuthorizationToken for ${host} without a usable token.`,
          hint: "Retry; if it persists, check the ECR endpoint (config key endpoint).",
        });
      }
      const credentials = { username: token.slice(0, colon), password: token.slice(colon + 1), source: credentialSource };
      cached = { credentials, expiresAt: data?.expiresAt ? new Date(data.expiresAt).getTime() : Date.now() + 60 * 60_000 };
      return credentials;
    },
    async ensureRepository(repository) {
      if (!config.createRepository) return;
      try {
        await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
        return;
      } catch (error) {
        if ((error as { name?: string }).name !== "RepositoryNotFoundException") {
          throw new OrchError("E_REGISTRY_AUTH", {
            flavor: FLAVOR,
            message: `Could not look up ECR repository "${repository}" in ${host}: ${(error as Error)?.message ?? error}`,
            hint: "The credentials need ecr:DescribeRepositories and ecr:CreateRepository, or create the repository yourself and set createRepository: false.",
            cause: error,
          });
        }
      }
      try {
        await ecr().send(new CreateRepositoryCommand({ repositoryName: repository }));
      } catch (error) {
        if ((error as { name?: string }).name === "RepositoryAlreadyExistsException") return; // created meanwhile
        throw new OrchError("E_REGISTRY_AUTH", {
          flavor: FLAVOR,
          message: `Could not create ECR repository "${repository}" in ${host}: ${(error as Error)?.message ?? error}`,
          hint: "Grant ecr:CreateRepository, or create the repository yourself and set createRepository: false.",
          cause: error,
        });
      }
    },
  };
}
