/**
 * The container-registry flavors built into core: `default` (any OCI registry, basic auth or
 * anonymous), `dockerhub` and `github` (GHCR with a token). They need no SDK — a user name and a
 * secret resolved at push time — so they ship with core, like the `local` artifact store. The cloud
 * flavors (`aws`, `gcp`, `azure`) are packages (`@orch/registry-<flavor>`), found by name.
 */
import { z } from "zod";
import { secret } from "../settings/secret.js";
import { defineContainerRegistry, registryHost, resolveRegistrySecret, type ContainerRegistry, type ContainerRegistryPlugin } from "./container-registry.js";

const uri = (example: string) => z.string().min(1).describe(`Registry URI images are pushed under (host[:port][/namespace]), e.g. ${example}.`);

export const defaultRegistryConfigSchema = z
  .object({
    uri: uri("127.0.0.1:5000 or registry.example.com/ml"),
    username: z.string().optional().describe("User name for basic auth; leave out (with password) for an anonymous registry."),
    password: secret(z.string().optional()).describe("Password for basic auth. Write {{env.NAME}} to read it from the environment at push time (then it is never stored)."),
  })
  .strict();

export const dockerhubRegistryConfigSchema = z
  .object({
    uri: uri("docker.io/acme (the namespace is your Docker Hub user or organisation)"),
    username: z.string().optional().describe("Docker Hub user name. Default: the namespace of uri."),
    password: secret(z.string().optional()).describe("Password or access token ({{env.NAME}} reads it at push time)."),
  })
  .strict();

export const githubRegistryConfigSchema = z
  .object({
    uri: uri("ghcr.io/acme"),
    username: z.string().optional().describe("GitHub user the token belongs to. Default: the owner in uri."),
    password: secret(z.string().optional()).describe("A token with write:packages (GHCR's password), e.g. {{env.GITHUB_TOKEN}} (read at push time)."),
  })
  .strict();

function basicAuth(flavor: string, config: { uri: string; username?: string | undefined }, secretKey: string, secretValue: string | undefined, defaultUser?: string): ContainerRegistry {
  registryHost(config.uri, flavor);
  const username = config.username ?? defaultUser;
  const described = secretValue === undefined ? "anonymous (no credentials configured)" : resolveSource(secretValue, secretKey, username);
  return {
    flavor,
    uri: config.uri.replace(/\/+$/, ""),
    credentialSource: described,
    async credentials() {
      const resolved = resolveRegistrySecret(secretValue, flavor, secretKey);
      if (resolved.value === undefined) return undefined;
      return { username: username ?? "", password: resolved.value, source: `user ${username ?? "(none)"}, ${resolved.source}` };
    },
  };
}

function resolveSource(value: string, key: string, username: string | undefined): string {
  const reference = /^\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(value)?.[1];
  return `user ${username ?? "(none)"}, ${reference ? `${key} from {{env.${reference}}}` : `${key} stored in the component config`}`;
}

/** The namespace right after the host: `ghcr.io/acme/ml` → `acme`. */
const namespaceOf = (uri: string) => uri.split("/")[1] || undefined;

export const defaultRegistry = defineContainerRegistry({
  flavor: "default",
  configSchema: defaultRegistryConfigSchema,
  async create(config) {
    return basicAuth("default", config, "password", config.password);
  },
});

export const dockerhubRegistry = defineContainerRegistry({
  flavor: "dockerhub",
  configSchema: dockerhubRegistryConfigSchema,
  async create(config) {
    return basicAuth("dockerhub", config, "password", config.password, namespaceOf(config.uri));
  },
});

export const githubRegistry = defineContainerRegistry({
  flavor: "github",
  configSchema: githubRegistryConfigSchema,
  async create(config) {
    return basicAuth("github", config, "password", config.password, namespaceOf(config.uri));
  },
});

/** Built-in registry plugins by canonical flavor id. */
export const BUILT_IN_REGISTRIES: Readonly<Record<string, ContainerRegistryPlugin>> = Object.freeze({
  default: defaultRegistry as unknown as ContainerRegistryPlugin,
  dockerhub: dockerhubRegistry as unknown as ContainerRegistryPlugin,
  github: githubRegistry as unknown as ContainerRegistryPlugin,
});
