/**
 * Talking to a registry directly (the Docker Registry HTTP API v2, which every OCI registry speaks),
 * for what the engine cannot answer: does the registry already have this tag, and under which
 * digest. One HEAD of the manifest, authenticated the way the registry asks (Basic, or a Bearer
 * token from the realm its challenge names).
 */
import { OrchError } from "@orch/core";

/** Credentials of a push; `source` names where they came from and is the only part ever printed. */
export interface RegistryAuth {
  username: string;
  password: string;
  source: string;
}

/**
 * Where to push: the stack's container registry (`ContainerRegistry` from `@orch/core/plugin` fits),
 * or just a URI with a fixed dockerode auth config.
 */
export interface RegistryTarget {
  /** `host[:port][/namespace]`. */
  uri: string;
  /** Where credentials come from, in words (for errors). */
  credentialSource?: string;
  /** Credentials fetched at push time; undefined means anonymous. */
  credentials?(): Promise<RegistryAuth | undefined>;
  /** Creates the repository first when the registry needs that (ECR). */
  ensureRepository?(repository: string): Promise<void>;
  /** A fixed auth config instead of `credentials()`. */
  auth?: { username?: string; password?: string; serveraddress?: string };
}

/** A reference split for the registry API: `127.0.0.1:5000/team/app:tag` → host, repository, tag. */
export interface ParsedReference {
  host: string;
  repository: string;
  tag: string;
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/**
 * Docker talks plain HTTP to loopback registries without configuration (they are always "insecure
 * registries") and HTTPS to everything else; we do the same so both agree on what is reachable.
 */
export function registryBaseUrl(host: string): string {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const loopback = name === "localhost" || /^127\./.test(name) || name === "::1";
  if (host === "docker.io" || host === "index.docker.io") return "https://registry-1.docker.io";
  return `${loopback ? "http" : "https"}://${host}`;
}

export interface ManifestCheckOptions {
  auth?: RegistryAuth | undefined;
  /** Where the credentials came from, for errors when there are none. */
  credentialSource?: string;
  timeoutMs?: number;
}

/**
 * HEADs `<repository>/manifests/<tag or digest>`: the digest when the registry has it, undefined
 * when it does not (404). Auth failures and an unreachable registry are OrchErrors that say which
 * registry, which credential source, and what to do.
 */
export async function manifestDigest(reference: ParsedReference, options: ManifestCheckOptions = {}): Promise<string | undefined> {
  const base = registryBaseUrl(reference.host);
  const url = `${base}/v2/${reference.repository}/manifests/${reference.tag}`;
  const source = options.auth?.source ?? options.credentialSource ?? "anonymous (no credentials)";
  const request = async (authorization?: string) => {
    try {
      return await fetch(url, {
        method: "HEAD",
        headers: { accept: MANIFEST_TYPES, ...(authorization ? { authorization } : {}) },
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
    } catch (cause) {
      throw unreachable(reference.host, base, cause);
    }
  };
  let response = await request(options.auth ? basic(options.auth) : undefined);
  if (response.status === 401) {
    const challenge = response.headers.get("www-authenticate") ?? "";
    const authorization = await answerChallenge(challenge, reference, options.auth, source);
    if (authorization) response = await request(authorization);
  }
  if (response.status === 404) return undefined;
  if (response.status === 401 || response.status === 403) throw authError(reference.host, response.status, source, options.auth !== undefined);
  if (!response.ok) {
    throw new OrchError("E_IMAGE_PUSH", {
      message: `Registry ${reference.host} answered HTTP ${response.status} when asked for ${reference.repository}:${reference.tag}.`,
      hint: "Check that the registry is healthy and that the URI points at a registry (orch container-registry describe).",
    });
  }
  return response.headers.get("docker-content-digest") ?? undefined;
}

/** Basic, or a Bearer token fetched from the challenge's realm (with the credentials when there are some). */
async function answerChallenge(challenge: string, reference: ParsedReference, auth: RegistryAuth | undefined, source: string): Promise<string | undefined> {
  const scheme = challenge.split(" ")[0]?.toLowerCase();
  if (scheme === "basic") return auth ? basic(auth) : undefined;
  if (scheme !== "bearer") return undefined;
  const params = Object.fromEntries([...challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
  if (!params.realm) return undefined;
  const realm = new URL(params.realm);
  if (params.service) realm.searchParams.set("service", params.service);
  realm.searchParams.set("scope", params.scope ?? `repository:${reference.repository}:pull`);
  let response: Response;
  try {
    response = await fetch(realm, { headers: auth ? { authorization: basic(auth) } : {}, signal: AbortSignal.timeout(15_000) });
  } catch (cause) {
    throw unreachable(reference.host, realm.origin, cause);
  }
  if (response.status === 401 || response.status === 403) throw authError(reference.host, response.status, source, auth !== undefined);
  const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}

function basic(auth: RegistryAuth): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
}

/** 401/403: names the registry and the credential source (never the secret), and the fix. */
export function authError(host: string, status: number, source: string, hadCredentials: boolean): OrchError {
  const what = status === 403 ? "refused access (403 Forbidden)" : "did not accept the credentials (401 Unauthorized)";
  return new OrchError("E_REGISTRY_AUTH", {
    message: `Container registry ${host} ${what}; credentials: ${hadCredentials ? source : "none (anonymous)"}.`,
    hint: hadCredentials
      ? status === 403
        ? "The credentials are valid but may not push to this repository: grant push rights (or fix the namespace in uri)."
        : "Fix the registry's username/password (orch container-registry update NAME --password={{env.NAME}}) or the cloud login the flavor uses."
      : "This registry needs credentials: orch container-registry update NAME --username=… --password={{env.REGISTRY_PASSWORD}}.",
  });
}

export function unreachable(host: string, base: string, cause: unknown): OrchError {
  const reason = (cause as { cause?: { code?: string; message?: string } })?.cause?.code ?? (cause as Error)?.message ?? String(cause);
  return new OrchError("E_REGISTRY_UNREACHABLE", {
    message: `Container registry ${host} is not reachable at ${base} (${reason}).`,
    hint: "Start the registry or fix the container registry's uri (orch container-registry describe NAME); Docker uses HTTPS except for loopback registries.",
    cause,
  });
}

/** `host[:port]/repo/path:tag` or `…@sha256:…` → parts; a reference without a host uses `docker.io`. */
export function parseReference(reference: string): ParsedReference {
  const at = reference.indexOf("@");
  let rest = at === -1 ? reference : reference.slice(0, at);
  let tag = at === -1 ? "latest" : reference.slice(at + 1);
  if (at === -1) {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  const slash = rest.indexOf("/");
  const first = slash === -1 ? "" : rest.slice(0, slash);
  if (slash !== -1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { host: first, repository: rest.slice(slash + 1), tag };
  }
  return { host: "docker.io", repository: slash === -1 ? `library/${rest}` : rest, tag };
}
