/**
 * Parsing of the store's `path` (`az://container/prefix` or `abfs[s]://container@account.dfs.core.windows.net/prefix`)
 * and Azure's naming rules for containers and accounts. Pure: no SDK here, so the plugin entry can use it
 * to validate config at registration time.
 */

export interface AzurePath {
  /** The blob container. */
  container: string;
  /** Blob name prefix inside the container: "" or ending in "/". */
  prefix: string;
  /** Storage account named by an `abfs://` path's host, when the path has one. */
  account?: string;
  /** The path in its canonical spelling (no duplicate or trailing slashes). */
  uri: string;
}

/**
 * Azure's container rules: 3–63 characters, lower-case letters, digits and "-", starting and ending with a
 * letter or digit, no "--". (The special `$root`/`$web` containers are not accepted: orch keeps its own.)
 */
const CONTAINER = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
/** Storage account names: 3–24 lower-case letters and digits. */
export const ACCOUNT = /^[a-z0-9]{3,24}$/;
/** Prefix segments use the same characters as artifact-store keys. */
const SEGMENT = /^[A-Za-z0-9_.-]+$/;

export const PATH_EXAMPLE = "az://my-container/orch (or abfs://my-container@myaccount.dfs.core.windows.net/orch)";

/** Returns the problem with a path in one sentence, or the parsed path. */
export function parseAzurePath(path: string): AzurePath | { problem: string } {
  const match = /^(az|abfss?):\/\/([^/]*)(\/.*)?$/.exec(path.trim());
  if (!match) return { problem: `"${path}" is not an Azure Blob path; expected ${PATH_EXAMPLE}.` };
  const [, scheme, authority = "", rest = ""] = match;
  let container = authority;
  let account: string | undefined;
  if (scheme !== "az") {
    const abfs = /^([^@]+)@([^.]+)\.dfs\.core\.windows\.net$/.exec(authority);
    if (!abfs) return { problem: `"${path}": an ${scheme}:// path names container@account.dfs.core.windows.net, e.g. abfs://my-container@myaccount.dfs.core.windows.net/orch.` };
    container = abfs[1]!;
    account = abfs[2]!;
    if (!ACCOUNT.test(account)) return { problem: accountProblem(account) };
  }
  const containerProblem = checkContainer(container);
  if (containerProblem) return { problem: containerProblem };
  const segments = rest.split("/").filter(Boolean);
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === "." || segment === ".." || segment.endsWith(".")) {
      return {
        problem: `prefix segment "${segment}" of "${path}" is not allowed: use letters, digits, "_", "-" and "." (not "." or ".." alone, and not ending in "." — Azure drops trailing dots).`,
      };
    }
  }
  const prefix = segments.length ? `${segments.join("/")}/` : "";
  const uri = `${scheme}://${authority}${segments.length ? `/${segments.join("/")}` : ""}`;
  return { container, prefix, uri, ...(account ? { account } : {}) };
}

function checkContainer(container: string): string | undefined {
  if (!container) return `the path names no container; expected ${PATH_EXAMPLE}.`;
  if (CONTAINER.test(container)) return undefined;
  const why =
    container.length < 3 || container.length > 63
      ? "it must be 3 to 63 characters long"
      : /[A-Z]/.test(container)
        ? "it must be lower-case"
        : container.includes("--")
          ? 'it must not contain "--"'
          : /^-|-$/.test(container)
            ? 'it must start and end with a letter or digit, not "-"'
            : 'it may contain only lower-case letters, digits and "-"';
  return `container name "${container}" is not valid in Azure: ${why}.`;
}

export function accountProblem(account: string): string {
  return `storage account name "${account}" is not valid: 3 to 24 lower-case letters and digits.`;
}
