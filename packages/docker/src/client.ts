import Docker from "dockerode";
import { OrchError } from "@orch/core";

export type { default as Docker } from "dockerode";

export interface DockerConnectionOptions {
  /**
   * The engine: `unix:///var/run/docker.sock`, a socket path, `tcp://127.0.0.1:2375` or
   * `http(s)://host:port`. Default: `$DOCKER_HOST`, else `/var/run/docker.sock`.
   */
  host?: string;
}

/** A dockerode client for the configured engine. */
export function createDockerClient(options: DockerConnectionOptions = {}): Docker {
  const host = options.host ?? process.env.DOCKER_HOST;
  if (!host) return new Docker({ socketPath: "/var/run/docker.sock" });
  if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  if (host.startsWith("/")) return new Docker({ socketPath: host });
  const match = /^(tcp|http|https):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (!match) {
    throw new OrchError("E_CONFIG_INVALID", {
      key: "host",
      message: `Docker host "${host}" is not a socket path, unix://, tcp://, http:// or https:// address.`,
      hint: 'Use e.g. host: "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2375".',
    });
  }
  const [, scheme, hostname, port] = match;
  return new Docker({ protocol: scheme === "https" ? "https" : "http", host: hostname!, port: Number(port ?? (scheme === "https" ? 2376 : 2375)) });
}

/** Describes where the client connects, for messages. */
export function describeDockerHost(options: DockerConnectionOptions = {}): string {
  return options.host ?? process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
}

/**
 * Checks the engine answers (within `timeoutMs`); throws an OrchError naming the host and how to
 * start an engine otherwise. Returns the engine's version string.
 */
export async function assertDockerAvailable(docker: Docker, options: DockerConnectionOptions & { flavor?: string; timeoutMs?: number } = {}): Promise<string> {
  const where = describeDockerHost(options);
  try {
    const version = await withTimeout(docker.version(), options.timeoutMs ?? 5000, `no answer within ${options.timeoutMs ?? 5000}ms`);
    return `${version.Version} (API ${version.ApiVersion})`;
  } catch (cause) {
    throw new OrchError("E_BACKEND_UNAVAILABLE", {
      ...(options.flavor ? { flavor: options.flavor } : {}),
      message: `The Docker engine at ${where} is not reachable: ${(cause as Error)?.message ?? cause}.`,
      hint: "Start Docker (e.g. `sudo dockerd` or Docker Desktop), or set the orchestrator's `host` (or DOCKER_HOST) to a running engine.",
      cause,
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
