/**
 * The container-registry component: where container flavors push the project image and where their
 * orchestrator pulls it from. A flavor is a config schema plus a way to get credentials at push time
 * (a password from the environment, an ECR token, a Google access token, an ACR refresh token). The
 * image work itself (HEAD the manifest, push, digest) is `@orch/docker`'s; a registry only says where
 * and as whom.
 */
import type { z } from "zod";
import { OrchError } from "../errors.js";
import { ORCH_PLUGIN_API, assertFlavorId } from "./plugin.js";

/** A user name and password for `docker login`, plus where they came from (for messages; never the secret). */
export interface RegistryCredentials {
  username: string;
  password: string;
  /** E.g. "password from {{env.REGISTRY_PASSWORD}}", "ECR GetAuthorizationToken (AWS default credential chain)". */
  source: string;
}

/** An opened container registry: its URI and its credentials, fetched when a push needs them. */
export interface ContainerRegistry {
  readonly flavor: string;
  /** `host[:port][/namespace]` images are pushed under: `<uri>/<image name>:<tag>`. */
  readonly uri: string;
  /** Where credentials come from, in words, before they are fetched (for error messages). */
  readonly credentialSource: string;
  /** Credentials for a push or pull, fetched at call time; undefined means anonymous. */
  credentials(): Promise<RegistryCredentials | undefined>;
  /** Creates the repository when the registry needs one before a push (ECR); `repository` is below the host. */
  ensureRepository?(repository: string): Promise<void>;
}

export interface ContainerRegistryPlugin<S extends z.ZodType = z.ZodType> {
  readonly kind: "container-registry";
  readonly apiVersion: number;
  readonly flavor: string;
  readonly configSchema: S;
  /** Opens the registry. Cloud flavors load their SDK here (a dynamic import), never at module top. */
  create(config: z.output<S>, context: { projectRoot: string }): Promise<ContainerRegistry>;
}

/** Declares a container-registry plugin: stamps kind and API version, checks the flavor id, freezes it. */
export function defineContainerRegistry<S extends z.ZodType>(definition: Omit<ContainerRegistryPlugin<S>, "kind" | "apiVersion">): ContainerRegistryPlugin<S> {
  assertFlavorId(definition.flavor);
  return Object.freeze({ kind: "container-registry" as const, apiVersion: ORCH_PLUGIN_API, ...definition });
}

/**
 * The registry host of a URI (`ghcr.io/acme` → `ghcr.io`, `127.0.0.1:5000` → `127.0.0.1:5000`).
 * A scheme is refused: registries are named by host, and docker decides http or https.
 */
export function registryHost(uri: string, flavor = "default"): string {
  if (/^[a-z]+:\/\//i.test(uri)) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor,
      key: "uri",
      message: `[orch] [${flavor}] uri: "${uri}" has a scheme; a registry URI is host[:port][/namespace].`,
      hint: `Write it without the scheme, e.g. uri: ${uri.replace(/^[a-z]+:\/\//i, "")}`,
    });
  }
  return uri.split("/")[0]!;
}

/**
 * A secret config value of a registry, resolved when credentials are needed (push time), not when
 * the stack is activated: `{{env.NAME}}` reads NAME now. `source` says where it came from, for
 * error messages, and never holds the value.
 */
export function resolveRegistrySecret(value: string | undefined, flavor: string, key: string): { value?: string; source: string } {
  if (value === undefined || value === "") return { source: `no ${key} configured` };
  const reference = /^\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(value)?.[1];
  if (reference === undefined) return { value, source: `${key} stored in the component config` };
  const resolved = process.env[reference];
  if (resolved === undefined || resolved === "") {
    throw new OrchError("E_REGISTRY_AUTH", {
      flavor,
      key,
      message: `[orch] [${flavor}] ${key}: refers to the environment variable ${reference} ({{env.${reference}}}), which is not set in this process.`,
      hint: `Set ${reference} in the environment that runs orch (export ${reference}=…) before the image is pushed.`,
    });
  }
  return { value: resolved, source: `${key} from {{env.${reference}}}` };
}
